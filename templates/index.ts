import { TemplateRegistry } from '../workflows/dsl/registry.js';
import highRiskV1 from './high-risk/v1.js';
import highRiskV2 from './high-risk/v2.js';
import rulesModelV1 from './rules-model/v1.js';
import standardV1 from './standard/v1.js';
import standardV2 from './standard/v2.js';

/**
 * Every released template version. Add a version as a new file next to the old ones and list it here; never
 * edit a released file (templates/lock.json and its test hold each one to its released content).
 */
export const templates = new TemplateRegistry([standardV1, standardV2, highRiskV1, highRiskV2, rulesModelV1]);
