import { parquetMetadata, parquetRead, parquetSchema, type ColumnData, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { type ColumnBuilder, DatasetProblem } from './dataset-columns.js';

/**
 * Parquet files (as pandas, pyarrow and Spark write them) through hyparquet, a dependency-free reader of the
 * columnar format; hyparquet-compressors adds the codecs beyond snappy (gzip, zstd, brotli, lz4). Only the
 * wanted columns are decoded, column chunk by column chunk, straight into the builders.
 */

function metadataOf(uri: string, bytes: ArrayBuffer): FileMetaData {
  try {
    return parquetMetadata(bytes);
  } catch (err) {
    throw new DatasetProblem(`${uri}: is not a readable Parquet file (${(err as Error).message})`);
  }
}

/** The whole file as one ArrayBuffer (the footer at its end says where each column is). */
export function wholeBuffer(bytes: Buffer): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Reads the builders' columns from a Parquet file's bytes; returns the number of rows. */
export async function readParquetColumns(uri: string, bytes: ArrayBuffer, builders: readonly ColumnBuilder[]): Promise<number> {
  const metadata = metadataOf(uri, bytes);
  const fields = new Map(parquetSchema(metadata).children.map((c) => [c.element.name, c]));
  const absent = builders.filter((b) => !fields.has(b.spec.name)).map((b) => b.spec.name);
  if (absent.length) throw new DatasetProblem(`${uri}: no column ${absent.join(', ')} (the model's input fields)`);
  for (const b of builders) {
    if (fields.get(b.spec.name)!.children.length > 0) throw new DatasetProblem(`${uri}: column ${b.spec.name} is a nested (struct, list or map) column; drift compares flat columns`);
  }
  const names = [...new Set(builders.map((b) => b.spec.name))];
  // Chunks arrive per row group and column; they are fed in row order so categories keep their file order.
  const chunks = new Map<string, ColumnData[]>(names.map((n) => [n, []]));
  try {
    await parquetRead({ file: bytes, metadata, columns: names, compressors, onChunk: (chunk) => chunks.get(chunk.columnName)?.push(chunk) });
  } catch (err) {
    throw new DatasetProblem(`${uri}: could not decode the Parquet data (${(err as Error).message})`);
  }
  for (const builder of builders) {
    const parts = chunks.get(builder.spec.name)!.sort((a, b) => a.rowStart - b.rowStart);
    for (const part of parts) {
      const values = part.columnData;
      const first = part.rowStart + 1;
      if (builder.spec.kind === 'numerical' && values instanceof Float64Array) {
        for (let i = 0; i < values.length; i++) builder.addNumber(values[i]!);
        continue;
      }
      for (let i = 0; i < values.length; i++) builder.addStored(values[i], first + i);
    }
  }
  return Number(metadata.num_rows);
}
