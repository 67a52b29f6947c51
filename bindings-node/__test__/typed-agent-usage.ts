// Typed usage of the agent options, tenants and their errors and events,
// checked by `tsc --noEmit` (never run). The @ts-expect-error lines must fail.
import { ClaudeJobsError, JobManager } from 'claude-jobs'
import type { JobSpec, PermissionDenial, TenantQuota, TenantUsage } from 'claude-jobs'

export async function agentUsage(): Promise<void> {
  const manager = new JobManager({ policy: 'safe', webhookSecret: 'secret' })
  const spec: JobSpec = {
    prompt: 'Profile the brand',
    tenant: 'team-a',
    idempotencyKey: 'req-1',
    webhookUrl: 'https://hooks.example/claude-jobs',
    disallowedTools: ['Bash(rm *)'],
    permissionMode: 'acceptEdits',
    systemPrompt: 'You are terse.',
    appendSystemPrompt: 'Answer in French.',
    mcpServers: { echo: { command: '/usr/local/bin/mcp-echo' } },
    addDirs: ['/data/shared'],
    settings: { permissions: { deny: ['WebSearch'] } },
    settingSources: ['project'],
    fallbackModel: 'claude-small',
    effort: 'high',
    jsonSchema: { type: 'object', properties: { brand: { type: 'string' } } },
  }
  const first = await (await manager.submit(spec)).wait()
  const answer: Record<string, unknown> | null = first.structuredOutput
  const denials: PermissionDenial[] = first.permissionDenials
  const dirs: (string | null)[] = [first.workDir, first.configDir, first.resumedSession, first.tenant]
  const next = await manager.submit({ prompt: 'And the price?', resume: first.id, forkSession: true })
  for await (const ev of next.events()) {
    if (ev.type === 'resuming') console.log(ev.sessionId, ev.fromJob, ev.fork)
    if (ev.type === 'permission_denied') console.log(ev.toolName, ev.toolUseId, ev.toolInput)
    if (ev.type === 'budget_wait') console.log(ev.tenant, ev.budgetUsd.toFixed(2), ev.leftUsd)
  }
  const quota: TenantQuota = { maxRunning: 2, maxQueued: 50, dailyBudgetUsd: 10 }
  await manager.setTenant('team-a', quota)
  const usage: TenantUsage = await manager.tenantUsage('team-a')
  const left: number | null = usage.budgetLeftUsd
  console.log(answer, denials.map((d) => d.toolName), dirs, usage.quota.maxQueued, usage.spentTodayUsd, left)
  try {
    await manager.submit(spec)
  } catch (err) {
    if (err instanceof ClaudeJobsError && err.code === 'QUOTA_EXCEEDED') {
      const wait: number | undefined = err.retryAfterMs
      const tenant: string | undefined = err.tenant
      console.log(wait, tenant)
    }
  }
  // @ts-expect-error: an unknown permission mode
  await manager.submit({ prompt: 'x', permissionMode: 'yolo' })
  // @ts-expect-error: the quota keys are camelCase
  await manager.setTenant('team-a', { max_queued: 1 })
}
