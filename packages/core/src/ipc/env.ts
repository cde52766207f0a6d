/** Environment variables the master hands each worker at fork. */

/** JSON array of the app ports the master resolved (port 0 becomes one concrete port for every worker). */
export const ENV_PORTS = 'CLUSTER2_PORTS';
/** JSON of the cluster-wide ECV switch at fork time, so a late worker starts in the current state. */
export const ENV_ECV = 'CLUSTER2_ECV';
