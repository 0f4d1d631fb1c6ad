// The label values every metric uses for the same thing, in one place, so a budget gauge, a
// consumer counter and an access-log field name a Consumer or a budget the same way
// (docs/observability.md, "Label conventions"). Snapshot ids carry a kind prefix (`consumer/…`,
// `policy/…`) that tells objects apart inside the snapshot; on a metric the label name already
// says the kind, so values drop it.

/** A Consumer: `<namespace>/<name>` from its snapshot id `consumer/<namespace>/<name>`. */
export function consumerLabel(id: string): string {
  return id.startsWith('consumer/') ? id.slice('consumer/'.length) : id;
}

/** A budget: `<namespace>/<policy>/<budget>` from `policy/<namespace>/<policy>/<budget>`. */
export function budgetLabel(budget: string): string {
  return budget.startsWith('policy/') ? budget.slice('policy/'.length) : budget;
}

/** The scope labels of one key of a budget. */
export interface BudgetScopeLabels {
  per: string;
  consumer: string;
  team: string;
  tenant: string;
}

/**
 * The key of a per-consumer, per-team or per-tenant budget as labels: the label named after the
 * scope holds the key, the other two are empty; callers without one (`-`) are `""`, as anonymous
 * requests are on the consumer series.
 */
export function budgetScopeLabels(per: string, subject: string): BudgetScopeLabels {
  const value = subject === '-' ? '' : subject;
  return {
    per,
    consumer: per === 'consumer' ? consumerLabel(value) : '',
    team: per === 'team' ? value : '',
    tenant: per === 'tenant' ? value : '',
  };
}
