import { sql } from 'kysely';
import type { CatalogDb } from '../catalog/db.js';

/**
 * Synthetic catalog contents for `bench:catalog`, shaped as the projection writes them: each model has
 * VERSIONS_PER_MODEL versions; older versions were deployed, replaced and retired; the newest one is the live
 * champion (70% of models), waits at the approval gate (10%), runs a canary or shadow beside the previous
 * champion (5%), is still in test, scan or register (13%), or was rejected (2%). Every version has its stage
 * transitions (register … monitor windows … retire), approval attempts (a refused one, a counted one and the
 * accepting one), reports (evaluation, scan, drift), artifacts, schema fields and lineage edges.
 *
 * Everything is generated server-side with INSERT … SELECT over generate_series, so 100,000 versions (about
 * 1.5 million rows) load in a minute or two, on PostgreSQL and on PGlite alike.
 */
export const VERSIONS_PER_MODEL = 5;

const TEAMS = ['credit-risk', 'fraud', 'marketing', 'pricing', 'claims', 'supply-chain', 'retention', 'payments', 'lending', 'collections',
  'underwriting', 'treasury', 'compliance', 'customer-care', 'logistics', 'hr-analytics', 'forecasting', 'search', 'ads', 'security'];
const WORDS_A = ['credit', 'fraud', 'churn', 'demand', 'pricing', 'claims', 'upsell', 'default', 'delivery', 'inventory', 'loan', 'card',
  'payment', 'return', 'lead', 'ticket', 'sentiment', 'anomaly', 'route', 'mortgage', 'deposit', 'insurance', 'policy', 'merchant', 'device'];
const WORDS_B = ['score', 'detector', 'forecast', 'classifier', 'ranker', 'segmenter', 'estimator', 'propensity', 'model', 'rules',
  'screen', 'router', 'predictor', 'optimizer', 'triage', 'matcher', 'alert'];
const FRAMEWORKS = ['sklearn', 'xgboost', 'lightgbm', 'onnx', 'pytorch', 'json-linear', 'drools', 'vendor-api'];
const KINDS = ['ml', 'ml', 'ml', 'rules', 'vendor', 'other'];
const RISK = ['low', 'medium', 'high', 'critical'];
const TAGS = ['credit', 'pd', 'lgd', 'fraud', 'realtime', 'batch', 'eu', 'us', 'apac', 'gdpr', 'pii', 'regulated', 'experimental', 'tier1',
  'tier2', 'nightly', 'marketing', 'retention', 'pricing', 'claims', 'vision', 'nlp', 'tabular', 'timeseries', 'graph', 'ensemble',
  'champion-challenger', 'sox', 'basel', 'ifrs9'];
const DESCRIPTIONS = [
  'Scores consumer loan applications for default risk.',
  'Flags card transactions that look fraudulent in real time.',
  'Predicts which customers are likely to cancel next month.',
  'Forecasts weekly demand per store and product line.',
  'Recommends prices that balance margin and conversion.',
  'Routes insurance claims to the right handling queue.',
  'Estimates delivery times for parcels in transit.',
  'Ranks leads by their likelihood to convert.',
];
export const APPROVER_GROUPS = ['risk', 'compliance', 'model-owners'];

const arr = (xs: readonly string[]) => `array[${xs.map((x) => `'${x.replace(/'/g, "''")}'`).join(',')}]::text[]`;
/** The i-th element (0-based, modulo length) of a literal array. */
const pick = (xs: readonly string[], i: string) => `(${arr(xs)})[1 + ((${i}) % ${xs.length})]`;

/**
 * The transitions a version records, in order; a version has the first `upto(stage)` of them. Monitor windows
 * (step 'observation') repeat; each test/scan/drift step carries a report with the same seq.
 */
const TEMPLATE: readonly [stage: string, step: string | null, outcome: string, report: string | null][] = [
  ['register', null, 'passed', null],
  ['test', null, 'entered', null],
  ['test', null, 'passed', 'evaluation'],
  ['scan', null, 'entered', null],
  ['scan', null, 'passed', 'scan'],
  ['approval', null, 'entered', null],
  ['approval', null, 'passed', null],
  ['deploy', null, 'passed', null],
  ['monitor', null, 'entered', null],
  ['monitor', 'observation', 'passed', null],
  ['monitor', 'observation', 'passed', null],
  ['monitor', 'observation', 'passed', 'drift'],
  ['monitor', 'observation', 'passed', null],
  ['monitor', 'observation', 'passed', null],
  ['monitor', 'observation', 'passed', 'drift'],
  ['retire', null, 'entered', null],
];

export async function generateCatalog(db: CatalogDb, versions: number, say: (m: string) => void): Promise<void> {
  const models = Math.ceil(versions / VERSIONS_PER_MODEL);
  // One statement per call: PGlite prepares each query and refuses several in one.
  const run = async (label: string, ...statements: string[]) => {
    const started = Date.now();
    for (const text of statements) await sql.raw(text).execute(db);
    say(`  ${label}: ${Date.now() - started} ms`);
  };
  const tmpl = TEMPLATE.map(
    ([stage, step, outcome, report], seq) =>
      `(${seq}, '${stage}', ${step ? `'${step}'` : 'null'}, '${outcome}', ${report ? `'${report}'` : 'null'})`,
  ).join(',');

  // g: one row per version with m (model number), k (version index, 0 = oldest) and c (the model's class, 0-99).
  await run('bench_versions', `
    create temporary table bench_versions as
    select j, j % ${models} as m, j / ${models} as k, (j % ${models}) % 100 as c
    from generate_series(0, ${versions - 1}) as j`);
  await run('models', `
    insert into models (name, created_at)
    select ${pick(WORDS_A, 'm')} || '-' || ${pick(WORDS_B, `m / ${WORDS_A.length}`)} || '-' || m,
           timestamptz '2024-01-01' + (m::float8 / ${models}) * interval '500 days'
    from generate_series(0, ${models - 1}) as m`);
  // The newest version's stage decides where the model stands; the previous version stays live unless the
  // newest replaced it.
  const newest = `k = ${VERSIONS_PER_MODEL - 1} or j + ${models} >= ${versions}`;
  const stage = `case
      when ${newest} then case
        when c < 70 then 'monitor' when c < 80 then 'approval' when c < 85 then 'deploy' when c < 90 then 'test'
        when c < 95 then 'scan' when c < 98 then 'register' else 'retire' end
      when j + 2 * ${models} >= ${versions} or k = ${VERSIONS_PER_MODEL - 2} then case when c < 70 then 'retire' else 'monitor' end
      else 'retire' end`;
  await run('model_versions', `
    insert into model_versions (id, name, version, owner, kind, risk_tier, workflow_id, manifest, registered_by, parent_id, stage,
      created_at, updated_at, team, framework, description, tags, template, deployment_target)
    select n || '@' || (k + 1) || '.0.0', n, (k + 1) || '.0.0', owner, kind, risk, 'lifecycle:' || n || '@' || (k + 1) || '.0.0',
      jsonb_build_object('name', n, 'version', (k + 1) || '.0.0', 'owner', owner, 'team', team, 'kind', kind, 'framework', fw,
        'riskTier', risk, 'description', descr, 'tags', tags,
        'metrics', jsonb_build_object('auc', round((0.70 + ((j * 7919) % 250) / 1000.0)::numeric, 3), 'f1', round((0.6 + (k % 10) / 50.0)::numeric, 3)),
        'artifacts', jsonb_build_array(jsonb_build_object('uri', 's3://models/' || n || '/' || (k + 1) || '/model.onnx', 'sha256', md5(n || k) || md5(k || n))),
        'inputSchema', jsonb_build_array(jsonb_build_object('name', 'income', 'type', 'number'), jsonb_build_object('name', 'region', 'type', 'category', 'categories', jsonb_build_array('eu', 'us'))),
        'outputSchema', jsonb_build_array(jsonb_build_object('name', 'probability', 'type', 'number')),
        'dependencies', jsonb_build_array('numpy==1.' || (20 + k)),
        'trainingData', jsonb_build_array(jsonb_build_object('uri', 's3://lake/' || team || '/train-' || k || '.parquet'))),
      'engineer-' || (m % 40), case when k > 0 then n || '@' || k || '.0.0' end, ${stage},
      created, created + interval '3 days', team, fw, descr, tags, template, case when m % 10 = 0 then 'eu-west' else 'default' end
    from (
      select j, m, k, c,
        ${pick(WORDS_A, 'm')} || '-' || ${pick(WORDS_B, `m / ${WORDS_A.length}`)} || '-' || m as n,
        'owner-' || (m % 50) as owner, ${pick(TEAMS, 'm')} as team, ${pick(KINDS, 'm / 3')} as kind,
        ${pick(RISK, 'm / 7')} as risk, ${pick(FRAMEWORKS, 'm / 11')} as fw, ${pick(DESCRIPTIONS, 'm')} as descr,
        jsonb_build_array(${pick(TAGS, 'm')}, ${pick(TAGS, 'm / 30 + 7')}, ${pick(TAGS, 'm / 900 + 13')}) as tags,
        case when m % 5 = 0 then 'high-risk@' || (1 + k % 2) else 'standard@1' end as template,
        timestamptz '2024-01-01' + (m::float8 / ${models}) * interval '500 days' + k * interval '40 days' + (j % 997) * interval '1 second' as created
      from bench_versions
      order by k, m
    ) s`);
  await run('bench_template', 'create temporary table bench_template (seq int, stage text, step text, outcome text, report text)', `insert into bench_template values ${tmpl}`);
  // A retired version that is the newest of its model was rejected at the gate: it stops there.
  const upto = `case v.stage when 'register' then 0 when 'test' then 2 when 'scan' then 4 when 'approval' then 5
      when 'deploy' then 6 when 'monitor' then 14 else case when v.rejected then 5 else 15 end end`;
  await run('stage_transitions', `
    insert into stage_transitions (workflow_id, seq, model_version_id, stage, step, outcome, actor, detail, at)
    select v.workflow_id, t.seq, v.id, t.stage, t.step, t.outcome,
      case when t.stage = 'approval' and t.outcome = 'passed' then 'approver-' || (length(v.id) % 30) else 'steward' end,
      case when t.stage = 'approval' and t.outcome = 'entered' then jsonb_build_object(
             'groups', case length(v.name) % 3 when 0 then '["risk"]'::jsonb when 1 then '["risk", "compliance"]'::jsonb else '["model-owners"]'::jsonb end,
             'quorum', 2, 'requireEveryGroup', false, 'excludeOwningTeam', length(v.name) % 4 = 0, 'deadline', null,
             'authors', jsonb_build_array(v.registered_by), 'owningTeams', jsonb_build_array(v.team))
           when t.stage = 'deploy' then jsonb_build_object('deploymentId', v.id || ':' || v.deployment_target, 'target', v.deployment_target, 'strategy', 'replace')
           when t.step = 'observation' then jsonb_build_object('window', t.seq, 'breaches', '[]'::jsonb)
           else '{}'::jsonb end,
      v.created_at + t.seq * interval '1 hour'
    from (select mv.*, mv.stage = 'retire' and ch.parent_id is null as rejected
          from model_versions mv left join (select distinct parent_id from model_versions where parent_id is not null) ch on ch.parent_id = mv.id) v
    join bench_template t on t.seq <= ${upto}`);
  await run('reports', `
    insert into reports (workflow_id, seq, model_version_id, kind, digest, summary, at)
    select s.workflow_id, s.seq, s.model_version_id, t.report, md5(s.workflow_id || s.seq) || md5(s.seq || s.workflow_id),
      case t.report when 'evaluation' then jsonb_build_object('metrics', jsonb_build_object('auc', 0.8), 'rows', 5000)
                    when 'scan' then jsonb_build_object('findings', 0, 'scanner', 'picklescan')
                    else jsonb_build_object('drifted', 0, 'columns', 12) end,
      s.at
    from stage_transitions s join bench_template t on t.seq = s.seq and t.report is not null`);
  // Approval attempts: the gate's authors try and are refused now and then; two approvers decide (quorum 2).
  await run('approval_attempts', `
    insert into approval_attempts (workflow_id, seq, model_version_id, principal, roles, decision, comment, status, refusal_reason, at)
    select s.workflow_id, 100 + a.n, s.model_version_id, p.principal, p.roles, 'approve', 'looks good (' || a.n || ')', p.status, p.reason,
      s.at + a.n * interval '10 minutes'
    from stage_transitions s
    join model_versions v on v.id = s.model_version_id
    cross join lateral (select generate_series(0, case when v.stage = 'approval' then (length(v.id) % 2) - 1 else 2 end) as n) a
    cross join lateral (select
        case a.n when 0 then case when length(v.id) % 3 = 0 then v.registered_by else 'approver-' || (length(v.id) % 30) end
                 when 1 then 'approver-' || (length(v.id) % 30) else 'approver-' || ((length(v.id) + 7) % 30) end as principal,
        case a.n when 0 then case when length(v.id) % 3 = 0 then '["engineer"]' else '["approver:risk"]' end
                 else '["approver:risk", "approver:compliance"]' end::jsonb as roles,
        case a.n when 0 then case when length(v.id) % 3 = 0 then 'refused' else 'counted' end
                 when 1 then 'counted' else 'accepted' end as status,
        case when a.n = 0 and length(v.id) % 3 = 0 then 'separation-of-duties' end as reason) p
    where s.stage = 'approval' and s.outcome = 'entered'`);
  // Replace deployments: every version whose deploy passed; each ends when the model's next one starts.
  await run('deployments', `
    insert into deployments (id, model_name, model_version_id, target, strategy, traffic_share, from_time, to_time, end_reason)
    select d.id || ':' || d.deployment_target, d.name, d.id, d.deployment_target, 'replace', 1, d.from_time, d.next_from,
      case when d.next_from is not null then 'replaced by ' || d.next_id end
    from (
      select v.id, v.name, v.deployment_target, s.at as from_time,
        lead(s.at) over w as next_from, lead(v.id) over w as next_id
      from model_versions v join stage_transitions s on s.model_version_id = v.id and s.stage = 'deploy' and s.outcome = 'passed'
      window w as (partition by v.name order by s.at)
    ) d`);
  // Canaries (10% of traffic) and, for some, shadows (no traffic) of the newest version beside the champion.
  await run('canaries and shadows', `
    insert into deployments (id, model_name, model_version_id, target, strategy, traffic_share, from_time, to_time, end_reason)
    select v.id || ':' || st.strategy, v.name, v.id, v.deployment_target, st.strategy, st.share, v.created_at + interval '6 hours', null, null
    from model_versions v
    cross join (values ('canary', 0.1::real), ('shadow', 0::real)) st(strategy, share)
    where v.stage = 'deploy' and (st.strategy = 'canary' or length(v.id) % 2 = 0)`);
  // Ended canaries and shadows of versions that went on to replace their champion.
  await run('ended canaries', `
    insert into deployments (id, model_name, model_version_id, target, strategy, traffic_share, from_time, to_time, end_reason)
    select d.model_version_id || ':canary', d.model_name, d.model_version_id, d.target, 'canary', 0.1, d.from_time - interval '2 hours', d.from_time, 'promoted'
    from deployments d where d.strategy = 'replace' and length(d.id) % 4 = 0`);
  await run('artifacts', `
    insert into artifacts (model_version_id, position, uri, sha256, name)
    select id, 0, manifest->'artifacts'->0->>'uri', manifest->'artifacts'->0->>'sha256', 'model.onnx' from model_versions`);
  await run('schema_fields', `
    insert into schema_fields (model_version_id, direction, position, name, type, nullable, categories, description)
    select id, d.direction, d.position, d.name, d.type, false, d.categories::jsonb, null from model_versions
    cross join (values ('input', 0, 'income', 'number', 'null'), ('input', 1, 'region', 'category', '["eu", "us"]'),
                       ('output', 0, 'probability', 'number', 'null')) d(direction, position, name, type, categories)`);
  await run('lineage_edges', `
    insert into lineage_edges (kind, from_ref, to_version_id, detail, at)
    select 'trained_on', 's3://lake/' || team || '/train-' || split_part(version, '.', 1) || '.parquet', id, '{"sha256": null}'::jsonb, created_at from model_versions
    union all
    select 'retrained_from', parent_id, id, '{"reason": "drift"}'::jsonb, created_at from model_versions where parent_id is not null`);
  await run('drop temporary tables', 'drop table bench_versions', 'drop table bench_template');
  // As autovacuum leaves a table at rest: statistics, visibility map, and the GIN indexes' pending lists merged.
  await run('vacuum analyze', 'vacuum analyze');
}
