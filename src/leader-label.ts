// The leader's Pod carries secretsync.dev/leader: "true", so a Service can send
// the refresh webhook to the leader only.
import type { Logger } from 'pino';
import type { KubeClient } from './kube/client.js';
import { Resources } from './kube/types.js';

export const LEADER_LABEL = 'secretsync.dev/leader';

/** Sets or removes the label on this Pod; a failure is said, not thrown (a follower answers 503 meanwhile). */
export async function labelLeaderPod(kube: KubeClient, namespace: string, pod: string | undefined, leading: boolean, log: Logger): Promise<void> {
  if (!pod) return;
  try {
    await kube.mergePatch(Resources.Pod, namespace, pod, { metadata: { labels: { [LEADER_LABEL]: leading ? 'true' : null } } });
  } catch (err) {
    log.warn({ err: (err as Error).message, pod }, 'could not label this Pod as the leader; the refresh webhook Service may send events to a follower, which answers 503');
  }
}
