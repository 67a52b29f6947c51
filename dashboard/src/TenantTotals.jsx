import { cost } from './format.js';

const limit = (used, max) => (max == null ? `${used}` : `${used} / ${max}`);

/**
 * The key's tenant (GET /api/tenant): today's spend (UTC day) against its
 * daily budget, and its running and queued jobs against its quota. Nothing
 * without API keys (no tenant).
 */
export default function TenantTotals({ tenant, Total }) {
  if (!tenant || tenant.tenant == null) return null;
  const q = tenant.quota;
  const budget = q.daily_budget_usd;
  const spent = tenant.spent_today_usd;
  return (
    <div className="totals tenant-totals" data-testid="tenant" data-tenant={tenant.tenant}>
      <Total label="Tenant" value={tenant.tenant} testid="tenant-name" />
      <Total label="Spent today (UTC)" value={budget == null ? cost(spent) : `${cost(spent)} / ${cost(budget)}`} testid="tenant-spent" />
      <Total label="Budget left" value={tenant.budget_left_usd == null ? 'no budget' : cost(tenant.budget_left_usd)} testid="tenant-budget-left" />
      <Total label="Running (quota)" value={limit(tenant.running, q.max_running)} testid="tenant-running" />
      <Total label="Queued (quota)" value={limit(tenant.queued, q.max_queued)} testid="tenant-queued" />
    </div>
  );
}
