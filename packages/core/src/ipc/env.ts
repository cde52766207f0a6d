/** Environment variables the master hands each worker at fork. */

/** JSON array of the app ports the master resolved (port 0 becomes one concrete port for every worker). */
export const ENV_PORTS = 'CLUSTER2_PORTS';
/** JSON of the cluster-wide ECV switch at fork time, so a late worker starts in the current state. */
export const ENV_ECV = 'CLUSTER2_ECV';
/** Set when the master reads the worker's stdout and stderr through pipes (log capture). */
export const ENV_LOG_CAPTURE = 'CLUSTER2_LOG_CAPTURE';
/** `cluster2 start`: the directory the command was run from, so that each worker reads the same config file and flags. */
export const ENV_START_CWD = 'CLUSTER2_START_CWD';
/** `cluster2 start --detach`: set in the background master, which reports its start over IPC to the command that launched it. */
export const ENV_DETACHED = 'CLUSTER2_DETACHED';
