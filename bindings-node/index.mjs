// ESM entry of claude-jobs: the same objects as the CommonJS entry (index.js).
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const cjs = require('./index.js')

export const { JobManager, Job, Workflow, ClaudeJobsError, ERROR_CODES, JOB_STATES, FINAL_STATES, parseSize, parseDuration } = cjs
