/**
 * The message bodies of the receivers: Microsoft Teams (an Adaptive Card in a `message` with attachments, the
 * shape both Teams Workflows "when a Teams webhook request is received" flows and the older incoming webhooks
 * take), Slack incoming webhooks (`text` with `blocks`) and a plain JSON object for anything else.
 */
import type { AlertNotification } from './notifications';

export const RECEIVER_FORMATS = ['teams', 'slack', 'json'] as const;
export type ReceiverFormat = (typeof RECEIVER_FORMATS)[number];

const SOURCE = 'Stripe–Dataverse connector';

function heading(n: AlertNotification): string {
  if (n.status === 'resolved') return `Resolved: ${n.title}`;
  return n.reminder ? `Still firing: ${n.title}` : `Firing: ${n.title}`;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function teamsMessage(n: AlertNotification): object {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              text: heading(n),
              weight: 'Bolder',
              size: 'Medium',
              wrap: true,
              color: n.status === 'resolved' ? 'Good' : 'Attention',
            },
            { type: 'TextBlock', text: n.summary, wrap: true },
            {
              type: 'FactSet',
              facts: [
                { title: 'Alert', value: n.alert },
                { title: 'Status', value: n.status },
                { title: 'Since', value: iso(n.startedAtMs) },
                { title: 'Source', value: SOURCE },
              ],
            },
          ],
        },
      },
    ],
  };
}

export function slackMessage(n: AlertNotification): object {
  const text = `${heading(n)}: ${n.summary}`;
  return {
    text,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: heading(n).slice(0, 150) } },
      { type: 'section', text: { type: 'plain_text', text: n.summary } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `${SOURCE} · \`${n.alert}\` · since ${iso(n.startedAtMs)}` }],
      },
    ],
  };
}

export function jsonMessage(n: AlertNotification): object {
  return {
    source: 'stripe-dataverse-connector',
    alert: n.alert,
    status: n.status,
    reminder: n.reminder,
    title: n.title,
    summary: n.summary,
    startedAt: iso(n.startedAtMs),
    at: iso(n.atMs),
  };
}

export function messageFor(format: ReceiverFormat, n: AlertNotification): object {
  if (format === 'teams') return teamsMessage(n);
  if (format === 'slack') return slackMessage(n);
  return jsonMessage(n);
}
