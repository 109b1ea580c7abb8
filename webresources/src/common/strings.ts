/**
 * The few messages the form scripts show, in English and German (the languages the controls ship). The
 * user's language comes from `Xrm.Utility.getGlobalContext().userSettings.languageId`.
 */
const MESSAGES = {
  paymentFailed: {
    1033: 'Stripe payment {0} of {1} failed: {2}',
    1031: 'Die Stripe-Zahlung {0} über {1} ist fehlgeschlagen: {2}',
  },
  paymentDisputed: {
    1033: 'Stripe payment {0} of {1} is disputed. Respond to the dispute in the Stripe Dashboard.',
    1031: 'Die Stripe-Zahlung {0} über {1} wird angefochten. Reagieren Sie im Stripe-Dashboard auf die Anfechtung.',
  },
  noRefundable: {
    1033: 'No Stripe payment of this record can be refunded.',
    1031: 'Keine Stripe-Zahlung dieses Datensatzes kann erstattet werden.',
  },
  severalRefundable: {
    1033: 'This record has {0} refundable Stripe payments. Choose one in the Stripe payments panel on the form.',
    1031: 'Dieser Datensatz hat {0} erstattbare Stripe-Zahlungen. Wählen Sie eine im Panel Stripe-Zahlungen des Formulars.',
  },
  refundTitle: { 1033: 'Refund in Stripe', 1031: 'In Stripe erstatten' },
  refundConfirm: {
    1033: 'Refund {0} of payment {1} to the customer? The refund is sent to Stripe once it is approved.',
    1031: '{0} der Zahlung {1} an den Kunden erstatten? Die Erstattung wird nach der Genehmigung an Stripe gesendet.',
  },
  refundConfirmButton: { 1033: 'Request refund', 1031: 'Erstattung anfordern' },
  refundRequested: {
    1033: 'Refund of {0} requested for payment {1}. Its progress shows in the Stripe payments panel.',
    1031: 'Erstattung von {0} für die Zahlung {1} angefordert. Der Fortschritt erscheint im Panel Stripe-Zahlungen.',
  },
  refundRequestName: { 1033: 'Refund of {0}', 1031: 'Erstattung von {0}' },
  paymentLinkRequestName: { 1033: 'Payment page for {0}', 1031: 'Zahlungsseite für {0}' },
  paymentLinkRequested: {
    1033: 'Stripe payment page requested. Its link appears in the Stripe tab (Stripe Payment Page) in a moment; refresh the form to see it.',
    1031: 'Stripe-Zahlungsseite angefordert. Ihr Link erscheint in Kürze im Register Stripe (Stripe-Zahlungsseite); aktualisieren Sie das Formular, um ihn zu sehen.',
  },
  paymentLinkRequestedQuote: {
    1033: 'Stripe payment page requested. Its link appears at the top of this form in a moment; refresh the form to see it.',
    1031: 'Stripe-Zahlungsseite angefordert. Ihr Link erscheint in Kürze oben in diesem Formular; aktualisieren Sie das Formular, um ihn zu sehen.',
  },
  paymentPageOpen: {
    1033: 'Stripe payment page of this quote, to copy or send to the customer (open until {1}): {0}. Paying it makes the order and wins the quote.',
    1031: 'Stripe-Zahlungsseite dieses Angebots zum Kopieren oder Senden an den Kunden (offen bis {1}): {0}. Ihre Bezahlung erstellt den Auftrag und gewinnt das Angebot.',
  },
  paymentPageReadFailed: {
    1033: 'The Stripe payment page of this quote could not be read: {0}',
    1031: 'Die Stripe-Zahlungsseite dieses Angebots konnte nicht gelesen werden: {0}',
  },
  readFailed: {
    1033: 'The Stripe payments could not be read: {0}',
    1031: 'Die Stripe-Zahlungen konnten nicht gelesen werden: {0}',
  },
  failed: {
    1033: 'The request could not be saved: {0}',
    1031: 'Die Anfrage konnte nicht gespeichert werden: {0}',
  },
  notLinkedCustomer: {
    1033: 'This record is not linked to a Stripe customer.',
    1031: 'Dieser Datensatz ist mit keinem Stripe-Kunden verknüpft.',
  },
  noPayments: {
    1033: 'No Stripe payment is linked to this record.',
    1031: 'Mit diesem Datensatz ist keine Stripe-Zahlung verknüpft.',
  },
  saveFirst: { 1033: 'Save the record first.', 1031: 'Speichern Sie den Datensatz zuerst.' },
  syncRequested: {
    1033: 'Sync from Stripe requested for {0} row(s). The data is updated when the connector has read Stripe.',
    1031: 'Synchronisierung aus Stripe für {0} Zeile(n) angefordert. Die Daten werden aktualisiert, sobald der Connector Stripe gelesen hat.',
  },
  issueRetryTitle: { 1033: 'Retry', 1031: 'Wiederholen' },
  issueRetryConfirm: {
    1033: 'Ask the connector to try {0} sync issue(s) again? The issue is resolved once the retry succeeds.',
    1031: 'Den Connector bitten, {0} Synchronisierungsproblem(e) erneut zu versuchen? Das Problem gilt als gelöst, sobald der Versuch gelingt.',
  },
  issueDiscardTitle: { 1033: 'Discard', 1031: 'Verwerfen' },
  issueDiscardConfirm: {
    1033: 'Discard {0} sync issue(s)? A discarded event is not applied to Dynamics 365; a discarded payout difference is accepted as it is.',
    1031: '{0} Synchronisierungsproblem(e) verwerfen? Ein verworfenes Ereignis wird nicht in Dynamics 365 übernommen; eine verworfene Auszahlungsdifferenz wird so akzeptiert.',
  },
  refundApproveTitle: { 1033: 'Approve', 1031: 'Genehmigen' },
  refundApproveConfirm: {
    1033: 'Approve this refund? The connector checks the approval against policy and then refunds in Stripe.',
    1031: 'Diese Erstattung genehmigen? Der Connector prüft die Genehmigung anhand der Richtlinie und erstattet dann in Stripe.',
  },
  refundRejectTitle: { 1033: 'Reject', 1031: 'Ablehnen' },
  refundRejectConfirm: {
    1033: 'Reject this refund? Nothing is refunded, and the request cannot be approved afterwards.',
    1031: 'Diese Erstattung ablehnen? Es wird nichts erstattet, und die Anfrage kann danach nicht mehr genehmigt werden.',
  },
  refundApproved: {
    1033: 'Approved. The connector refunds in Stripe and shows the outcome here.',
    1031: 'Genehmigt. Der Connector erstattet in Stripe und zeigt das Ergebnis hier.',
  },
  refundRejected: { 1033: 'Rejected. Nothing is refunded.', 1031: 'Abgelehnt. Es wird nichts erstattet.' },
  refundNotAwaiting: {
    1033: 'This refund request no longer awaits approval: its status is now {0}, set by someone else or by the connector. Your decision was not saved; the form now shows the request as it is.',
    1031: 'Diese Erstattungsanfrage wartet nicht mehr auf Genehmigung: ihr Status ist jetzt {0}, gesetzt von einer anderen Person oder vom Connector. Ihre Entscheidung wurde nicht gespeichert; das Formular zeigt die Anfrage jetzt, wie sie ist.',
  },
  subscriptionRequestName: { 1033: 'Stripe subscription for {0}', 1031: 'Stripe-Abonnement für {0}' },
  orderSubscriptionTitle: { 1033: 'Start subscription', 1031: 'Abonnement starten' },
  orderSubscriptionConfirm: {
    1033: "Start a Stripe subscription from this order? Its lines with a recurring Stripe price become the subscription's items, billed to the order's customer; its other lines are billed once, on the first invoice. The connector checks the request against policy before Stripe is asked.",
    1031: 'Ein Stripe-Abonnement aus diesem Auftrag starten? Seine Positionen mit wiederkehrendem Stripe-Preis werden die Positionen des Abonnements, berechnet an den Kunden des Auftrags; die übrigen Positionen werden einmalig mit der ersten Rechnung berechnet. Der Connector prüft die Anfrage anhand der Richtlinie, bevor Stripe beauftragt wird.',
  },
  orderSubscriptionRequestName: { 1033: 'Stripe subscription from {0}', 1031: 'Stripe-Abonnement aus {0}' },
  orderSubscriptionRequested: {
    1033: "Stripe subscription requested. The connector checks it and creates it in Stripe; the outcome, or the reason it was refused, shows on the Subscription Request, and the subscription under the order's Stripe Subscriptions once Stripe reports it.",
    1031: 'Stripe-Abonnement angefordert. Der Connector prüft die Anfrage und legt das Abonnement in Stripe an; das Ergebnis oder der Grund einer Ablehnung erscheint in der Abonnementanfrage und das Abonnement unter den Stripe-Abonnements des Auftrags, sobald Stripe es meldet.',
  },
  subscriptionCancelAtPeriodEndTitle: { 1033: 'Cancel at period end', 1031: 'Zum Periodenende kündigen' },
  subscriptionCancelAtPeriodEndConfirm: {
    1033: 'Cancel this subscription at the end of the period already paid for? It stays active until then.',
    1031: 'Dieses Abonnement zum Ende der bezahlten Periode kündigen? Bis dahin bleibt es aktiv.',
  },
  subscriptionCancelNowTitle: { 1033: 'Cancel now', 1031: 'Jetzt kündigen' },
  subscriptionCancelNowConfirm: {
    1033: 'Cancel this subscription now? It ends at once in Stripe and is not billed again.',
    1031: 'Dieses Abonnement jetzt kündigen? Es endet sofort in Stripe und wird nicht mehr abgerechnet.',
  },
  subscriptionPauseTitle: { 1033: 'Pause collection', 1031: 'Einzug pausieren' },
  subscriptionPauseConfirm: {
    1033: 'Pause collection of this subscription? Stripe stops charging for it until collection is resumed.',
    1031: 'Den Einzug dieses Abonnements pausieren? Stripe belastet es nicht mehr, bis der Einzug fortgesetzt wird.',
  },
  subscriptionResumeTitle: { 1033: 'Resume collection', 1031: 'Einzug fortsetzen' },
  subscriptionResumeConfirm: {
    1033: 'Resume collection of this subscription? Stripe charges for it again from its next invoice.',
    1031: 'Den Einzug dieses Abonnements fortsetzen? Stripe belastet es ab der nächsten Rechnung wieder.',
  },
  subscriptionRequested: {
    1033: 'Requested. The connector checks it and makes the change in Stripe; the outcome shows under Subscription Requests, and here once Stripe reports it (refresh the form).',
    1031: 'Angefordert. Der Connector prüft die Anfrage und ändert das Abonnement in Stripe; das Ergebnis erscheint unter Abonnementanfragen und hier, sobald Stripe es meldet (Formular aktualisieren).',
  },
  chargeRequestName: {
    1033: 'Charge of the saved card of {0}',
    1031: 'Belastung der gespeicherten Karte von {0}',
  },
  chargeNoCustomer: {
    1033: 'This record has no customer to charge.',
    1031: 'Dieser Datensatz hat keinen Kunden, der belastet werden kann.',
  },
  chargeApproveConfirm: {
    1033: "Approve this charge? The connector checks the approval against policy and then charges the customer's saved payment method in Stripe.",
    1031: 'Diese Belastung genehmigen? Der Connector prüft die Genehmigung anhand der Richtlinie und belastet dann die gespeicherte Zahlungsmethode des Kunden in Stripe.',
  },
  chargeRejectConfirm: {
    1033: 'Reject this charge? Nothing is charged, and the request cannot be approved afterwards.',
    1031: 'Diese Belastung ablehnen? Es wird nichts belastet, und die Anfrage kann danach nicht mehr genehmigt werden.',
  },
  chargeApproved: {
    1033: 'Approved. The connector charges the saved payment method in Stripe and shows the outcome here.',
    1031: 'Genehmigt. Der Connector belastet die gespeicherte Zahlungsmethode in Stripe und zeigt das Ergebnis hier an.',
  },
  chargeRejected: {
    1033: 'Rejected. Nothing is charged.',
    1031: 'Abgelehnt. Es wird nichts belastet.',
  },
  amountChanged: {
    1033: 'The amount of this request was changed to {0} since the form was loaded. Your decision was not saved; the form now shows the request as it is: check the amount and decide again.',
    1031: 'Der Betrag dieser Anfrage wurde seit dem Laden des Formulars auf {0} geändert. Ihre Entscheidung wurde nicht gespeichert; das Formular zeigt die Anfrage jetzt, wie sie ist: Prüfen Sie den Betrag und entscheiden Sie erneut.',
  },
  chargeNotAwaiting: {
    1033: 'This charge request no longer awaits approval: its status is now {0}, set by someone else or by the connector. Your decision was not saved; the form now shows the request as it is.',
    1031: 'Diese Belastungsanfrage wartet nicht mehr auf Genehmigung: ihr Status ist jetzt {0}, gesetzt von einer anderen Person oder vom Connector. Ihre Entscheidung wurde nicht gespeichert; das Formular zeigt die Anfrage jetzt, wie sie ist.',
  },
  issueRequested: {
    1033: 'Requested for {0} sync issue(s). The connector carries it out within a minute.',
    1031: 'Für {0} Synchronisierungsproblem(e) angefordert. Der Connector führt es innerhalb einer Minute aus.',
  },
} as const;

export type MessageKey = keyof typeof MESSAGES;

export function message(languageId: number, key: MessageKey, ...args: (string | number)[]): string {
  const texts = MESSAGES[key] as Record<number, string>;
  const template = texts[languageId] ?? texts[1033];
  return template.replace(/\{(\d+)\}/g, (whole, index: string) => String(args[Number(index)] ?? whole));
}
