/**
 * Which license a package is under: the manifest's SPDX id, or one recognised from a LICENSE file's text by
 * the distinctive sentences of the common licenses. The template-independent allow-list is permissive licenses.
 */

export const DEFAULT_LICENSE_ALLOW_LIST: readonly string[] = [
  'MIT',
  'Apache-2.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'ISC',
  'MPL-2.0',
  'CC0-1.0',
  'CC-BY-4.0',
  'Unlicense',
  'PSF-2.0',
  'Zlib',
  'BSL-1.0',
];

/** Most specific first: GPL texts mention other licenses, BSD-3 contains BSD-2's sentences. */
const TEXTS: readonly [string, RegExp[]][] = [
  ['AGPL-3.0', [/GNU AFFERO GENERAL PUBLIC LICENSE/i]],
  ['LGPL-3.0', [/GNU LESSER GENERAL PUBLIC LICENSE/i, /Version 3/i]],
  ['LGPL-2.1', [/GNU LESSER GENERAL PUBLIC LICENSE/i, /Version 2\.1/i]],
  ['GPL-3.0', [/GNU GENERAL PUBLIC LICENSE/i, /Version 3/i]],
  ['GPL-2.0', [/GNU GENERAL PUBLIC LICENSE/i, /Version 2/i]],
  ['SSPL-1.0', [/Server Side Public License/i]],
  ['BUSL-1.1', [/Business Source License/i]],
  ['CC-BY-NC-4.0', [/Attribution-NonCommercial/i]],
  ['Apache-2.0', [/Apache License/i, /Version 2\.0/i]],
  ['MPL-2.0', [/Mozilla Public License,? (?:Version|v\.?) ?2\.0/i]],
  ['MIT', [/Permission is hereby granted, free of charge, to any person obtaining a copy/i]],
  ['BSD-3-Clause', [/Redistribution and use in source and binary forms/i, /Neither the name/i]],
  ['BSD-2-Clause', [/Redistribution and use in source and binary forms/i]],
  ['ISC', [/Permission to use, copy, modify, and\/or distribute this software for any purpose with or without fee/i]],
  ['Unlicense', [/This is free and unencumbered software released into the public domain/i]],
  ['CC0-1.0', [/CC0 1\.0 Universal/i]],
];

/** The SPDX id a license text matches, or null when it is none of the known ones. */
export function recogniseLicense(text: string): string | null {
  const spdx = /SPDX-License-Identifier:\s*([A-Za-z0-9.+-]+)/.exec(text);
  if (spdx) return spdx[1]!;
  return TEXTS.find(([, res]) => res.every((re) => re.test(text)))?.[0] ?? null;
}

/** File names (any case, any extension) that hold a package's license. */
export const isLicenseFile = (path: string): boolean => /(^|\/)(LICEN[SC]E|COPYING)([.-][A-Za-z0-9]+)?$/i.test(path);

/** Whether the allow-list lets a license (an SPDX id or a simple AND/OR expression of them) through. */
export function licenseAllowed(license: string, allowList: readonly string[]): boolean {
  const allowed = new Set(allowList.map((l) => l.toLowerCase()));
  const bare = (id: string) => id.trim().replace(/^\(|\)$/g, '').replace(/-only$|-or-later$|\+$/, '').toLowerCase();
  // "A OR B": the licensee may choose one; "A AND B": both apply.
  return license.split(/\s+OR\s+/i).some((alt) => alt.split(/\s+AND\s+/i).every((id) => allowed.has(bare(id))));
}
