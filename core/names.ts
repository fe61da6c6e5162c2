/** Name patterns shared by the manifest, the template DSL and the API, so each is spelled once. */

/** A template name: lower-case letters, digits and "-". */
export const TEMPLATE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
/** A template reference as a manifest or a query writes it: `name` or `name@version`. */
export const TEMPLATE_REF_PATTERN = /^([a-z0-9][a-z0-9-]*)(?:@(\d+))?$/;
export const TEMPLATE_REF_PROBLEM = 'must be a template name, optionally with @<version>';
/** A metric or KPI name, e.g. `auc`, `approval_rate`, `fairness.dir`. */
export const METRIC_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/;
