import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { ModelManifest } from './manifest.js';
import type { Stage } from './stages.js';

/**
 * Search attributes every lifecycle carries, so the Temporal UI and `temporal workflow list --query`
 * find lifecycles without the catalog. The dev server and the test harness register exactly these.
 */
export const SA_MODEL = defineSearchAttributeKey('StewardModel', SearchAttributeType.KEYWORD);
export const SA_VERSION = defineSearchAttributeKey('StewardVersion', SearchAttributeType.KEYWORD);
export const SA_STAGE = defineSearchAttributeKey('StewardStage', SearchAttributeType.KEYWORD);
export const SA_RISK_TIER = defineSearchAttributeKey('StewardRiskTier', SearchAttributeType.KEYWORD);
export const SA_OWNER = defineSearchAttributeKey('StewardOwner', SearchAttributeType.KEYWORD);

export const STEWARD_SEARCH_ATTRIBUTES = [SA_MODEL, SA_VERSION, SA_STAGE, SA_RISK_TIER, SA_OWNER] as const;

/** The search attributes a lifecycle starts with; the stage is updated as it moves. */
export function lifecycleSearchAttributes(manifest: ModelManifest, stage: Stage): SearchAttributePair[] {
  return [
    { key: SA_MODEL, value: manifest.name },
    { key: SA_VERSION, value: manifest.version },
    { key: SA_STAGE, value: stage },
    { key: SA_RISK_TIER, value: manifest.riskTier },
    { key: SA_OWNER, value: manifest.owner },
  ];
}
