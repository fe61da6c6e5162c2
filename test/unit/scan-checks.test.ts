import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { affects, checkDependencies, loadAdvisories, parseRequirement, type OsvRecord } from '../../activities/scan/dependencies.js';
import { DEFAULT_LICENSE_ALLOW_LIST, isLicenseFile, licenseAllowed, recogniseLicense } from '../../activities/scan/license.js';
import { SecretScanner, shannonEntropy } from '../../activities/scan/secrets.js';
import { scanSettingsFromEnv } from '../../activities/scan/settings.js';

const OSV_DIR = join(import.meta.dirname, '..', 'fixtures', 'osv');

describe('dependency checks', () => {
  it('requires one exact pin per package; the interpreter itself needs none', () => {
    expect(parseRequirement('scikit-learn==1.5.2')).toEqual({ name: 'scikit-learn', pinned: '1.5.2' });
    expect(parseRequirement('numpy[extra] === 2.0.0 ; python_version > "3.8"')).toEqual({ name: 'numpy', pinned: '2.0.0' });
    for (const loose of ['numpy>=1.26', 'numpy', 'numpy==1.*', 'numpy~=1.26.0', 'numpy>=1,<2']) expect(parseRequirement(loose)?.pinned).toBeNull();
    const findings = checkDependencies(['numpy>=1.26', 'python>=3.11', 'pandas==2.2.3', '==1.0'], [], new Map());
    expect(findings.map((f) => [f.dependency, f.code, f.severity])).toEqual([
      ['numpy>=1.26', 'dependency-unpinned', 'high'],
      ['==1.0', 'dependency-invalid', 'high'],
    ]);
  });

  it('refuses deny-listed packages by their normalised name', () => {
    const findings = checkDependencies(['Python3_Dateutil==2.8.0'], ['python3-dateutil'], new Map());
    expect(findings).toMatchObject([{ code: 'dependency-denied', severity: 'critical', message: expect.stringContaining('deny-list') }]);
  });

  it('matches pinned versions against the OSV records on disk, PEP 440 ordering included', async () => {
    const advisories = await loadAdvisories(OSV_DIR);
    const of = (dep: string) => checkDependencies([dep], [], advisories).map((f) => `${f.severity} ${f.message.split(':')[0]}`);
    expect(of('scikit-learn==1.4.1.post1')).toEqual(['medium scikit-learn 1.4.1.post1 is affected by GHSA-jw8x-6495-233v (CVE-2024-5206)']);
    // 1.5.0rc1 sorts before 1.5.0 in PEP 440 (semver would agree here, but not on post- or dev-releases)
    expect(of('scikit_learn==1.5.0rc1')).toHaveLength(1);
    expect(of('scikit-learn==1.5.0.dev0')).toHaveLength(1);
    expect(of('scikit-learn==1.5.0')).toEqual([]);
    expect(of('scikit-learn==1.9.1')).toEqual([]);
    expect(of('joblib==1.1.1')).toEqual(['critical joblib 1.1.1 is affected by GHSA-6hrg-qmvc-2xh8 (CVE-2022-21797)']);
    expect(of('joblib==1.2.0')).toEqual([]);
    expect(of('torch==2.5.1')).toHaveLength(1);
    expect(of('torch==2.6.0')).toEqual([]);
    expect(of('numpy==1.0.0')).toEqual([]);
  });

  it('evaluates last_affected, explicit versions and epochs', () => {
    const record: OsvRecord = {
      id: 'TEST-1',
      affected: [
        {
          package: { ecosystem: 'PyPI', name: 'demo' },
          versions: ['0.9.0'],
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0' }, { last_affected: '1.2.post3' }, { introduced: '2.0' }, { fixed: '2.1' }] }],
        },
      ],
    };
    const cases: [string, boolean][] = [
      ['0.9.0', true],
      ['0.9.1', false],
      ['1.0', true],
      ['1.2', true],
      ['1.2.post3', true],
      ['1.2.post4', false],
      ['1.5', false],
      ['2.0.1', true],
      ['2.1', false],
      ['1!0.1', false],
    ];
    for (const [version, expected] of cases) expect([version, affects(record, 'demo', version)]).toEqual([version, expected]);
  });

  it('names a broken advisory file instead of skipping it', async () => {
    await expect(loadAdvisories(join(import.meta.dirname, '..', 'fixtures', 'nope'))).rejects.toThrow(/ENOENT/);
  });
});

describe('secret detection', () => {
  const scan = (text: string) => {
    const s = new SecretScanner();
    s.write(Buffer.from(text));
    return s.end();
  };

  it('finds well-known key formats and reports the line, never the secret', () => {
    const text = [
      'model: credit',
      'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
      'token: ghp_0123456789abcdefghijABCDEFGHIJ012345',
      '-----BEGIN RSA PRIVATE KEY-----',
      'slack: xoxb-123456789012-abcdefghijkl',
      '{"type": "service_account", "project_id": "p"}',
    ].join('\n');
    const hits = scan(text);
    expect(hits.map((h) => [h.line, h.kind, h.critical])).toEqual([
      [2, 'AWS access key id', false],
      [3, 'GitHub token', false],
      [4, 'private key', true],
      [5, 'Slack token', false],
      [6, 'GCP service account key', true],
    ]);
    expect(JSON.stringify(hits)).not.toContain('IOSFODNN7EXAMPLE');
  });

  it('flags high-entropy tokens by Shannon entropy and leaves hashes, words and identifiers alone', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
    expect(scan('api_key = "Zx8Qp2Lm9Vb4Nc7Rt1Ws"')).toMatchObject([{ kind: expect.stringContaining('secret-named key') }]);
    expect(scan('blob Zx8Qp2Lm9Vb4Nc7Rt1WsYu6Io3Pa5Sd0FgHjKl')).toMatchObject([{ kind: expect.stringContaining('high-entropy token') }]);
    expect(scan(`sha256: ${'9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'}`)).toEqual([]);
    expect(scan('the_quick_brown_fox_jumps_over_the_lazy_dog_again_and_again')).toEqual([]);
    expect(scan('password = changeme')).toEqual([]);
  });

  it('finds a secret split across chunks', () => {
    const s = new SecretScanner();
    s.write(Buffer.from('x\naws key AKIAIOSF'));
    s.write(Buffer.from('ODNN7EXAMPLE\n'));
    expect(s.end()).toMatchObject([{ line: 2, kind: 'AWS access key id' }]);
  });
});

describe('licenses', () => {
  it('recognises license texts and SPDX tags', () => {
    expect(recogniseLicense('MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this software')).toBe('MIT');
    expect(recogniseLicense('Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/')).toBe('Apache-2.0');
    expect(recogniseLicense('GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3')).toBe('AGPL-3.0');
    expect(recogniseLicense('Redistribution and use in source and binary forms ... Neither the name of')).toBe('BSD-3-Clause');
    expect(recogniseLicense('# SPDX-License-Identifier: MPL-2.0')).toBe('MPL-2.0');
    expect(recogniseLicense('all rights reserved')).toBeNull();
    expect(['LICENSE', 'pkg/LICENSE.txt', 'COPYING', 'licence.md'].every(isLicenseFile)).toBe(true);
    expect(isLicenseFile('license_plate_model.pkl')).toBe(false);
  });

  it('checks SPDX ids and simple expressions against the allow-list', () => {
    expect(licenseAllowed('Apache-2.0', DEFAULT_LICENSE_ALLOW_LIST)).toBe(true);
    expect(licenseAllowed('GPL-3.0-only', DEFAULT_LICENSE_ALLOW_LIST)).toBe(false);
    expect(licenseAllowed('GPL-3.0-only OR MIT', DEFAULT_LICENSE_ALLOW_LIST)).toBe(true);
    expect(licenseAllowed('MIT AND AGPL-3.0', DEFAULT_LICENSE_ALLOW_LIST)).toBe(false);
  });
});

describe('scan settings', () => {
  it('reads lists from the environment and names a bad variable', () => {
    expect(scanSettingsFromEnv({ STEWARD_OSV_DIR: '/data/osv', STEWARD_LICENSE_ALLOW_LIST: 'MIT, Apache-2.0' })).toMatchObject({
      osvDir: '/data/osv',
      licenseAllowList: ['MIT', 'Apache-2.0'],
    });
    expect(() => scanSettingsFromEnv({ STEWARD_OSV_DIR: ' ' })).toThrow(/STEWARD_OSV_DIR/);
  });
});
