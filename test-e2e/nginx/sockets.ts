// The machine's IPv4 TCP sockets as /proc/net/tcp lists them: enough to see, while nginx is
// stopped, that a request waits unread in its client socket and that an upstream connection has
// received the worker's FIN (CLOSE_WAIT).
import fs from 'node:fs';

export interface TcpSocket {
  localPort: number;
  remotePort: number;
  /** ESTABLISHED, CLOSE_WAIT, … */
  state: string;
  /** Bytes received and not yet read by the process. */
  rxQueue: number;
}

const STATES: Record<string, string> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
};

export function tcpSockets(): TcpSocket[] {
  return fs
    .readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [, local, remote, state, queues] = line.trim().split(/\s+/);
      return {
        localPort: parseInt(local!.split(':')[1]!, 16),
        remotePort: parseInt(remote!.split(':')[1]!, 16),
        state: STATES[state!] ?? state!,
        rxQueue: parseInt(queues!.split(':')[1]!, 16),
      };
    });
}

/** The client ends of connections to `port` (for nginx's upstream connections: nginx's own ends). */
export function connectionsTo(port: number): TcpSocket[] {
  return tcpSockets().filter((s) => s.remotePort === port);
}

/** The server ends of connections accepted on `port` (for nginx's listener: the sockets it reads requests from). */
export function connectionsOn(port: number): TcpSocket[] {
  return tcpSockets().filter((s) => s.localPort === port && s.state !== 'LISTEN');
}
