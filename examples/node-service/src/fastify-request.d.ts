// What this service adds to Fastify's request (auth.js, routes.js).
import 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key's tenant; null without a keys file. */
    tenant: string | null
    /** How the job request spelled its fields (for error bodies); null before one was read. */
    spelling: import('./request.js').Spelling | null
  }
}
