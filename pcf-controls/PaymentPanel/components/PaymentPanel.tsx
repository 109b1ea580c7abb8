import * as React from 'react';
import { DefaultButton, MessageBar, MessageBarType, Text } from '@fluentui/react';
import { isNarrow, type PanelProps } from '../../shared/panelContext';
import { ModeBadge, recordPanel, StripeLink, type LoadedRecord } from '../../shared/RecordPanel';
import type { NumberFormat } from '../../shared/money';
import type { Translate } from '../../shared/strings';
import { RefundDialog, type RefundSubmission } from './RefundDialog';
import { RefundProgress } from './RefundProgress';
import type { PaymentSource, PaymentView, RefundRequestView } from './types';

/** On an order or invoice form. */
export interface PaymentPanelProps extends PanelProps<PaymentSource> {
  /**
   * The user may create refund requests (privileges on stc_refundrequest and stc_payment). The only thing
   * Refund depends on besides the payment: a refund request changes neither the order nor the invoice, so a
   * read-only form (a paid invoice, a user with only Read on orders) does not stop it.
   */
  canRequestRefund: boolean;
  pollIntervalMs: number;
  /** The user's number format, for reading the refund amount they type. */
  numberFormat: NumberFormat;
}

export const PaymentPanel = recordPanel<PaymentPanelProps, PaymentView[]>(
  {
    className: 'stc-payment-panel',
    strings: 'Payments',
    load: ({ source }, table, id) => source.listPayments(table, id),
  },
  PaymentPanelContent,
);

/** The refund request the panel follows, and whether it has come to rest. */
interface Followed {
  id: string;
  settled: boolean;
}

function PaymentPanelContent(props: PaymentPanelProps & LoadedRecord<PaymentView[]>) {
  const { source, t, width, canRequestRefund, formatMoney, numberFormat, state, reload } = props;
  const [refunding, setRefunding] = React.useState<PaymentView>();
  const [followed, setFollowed] = React.useState<Followed>();
  const narrow = isNarrow(width);
  // While the service works on a request, the amounts shown may be about to change.
  const requestInFlight = Boolean(followed && !followed.settled);

  const submitRefund = async (value: RefundSubmission) => {
    if (!refunding) return;
    const id = await source.requestRefund({ payment: refunding, ...value });
    setRefunding(undefined);
    setFollowed({ id, settled: false });
  };
  const onSettled = (request: RefundRequestView) => {
    setFollowed((current) => (current?.id === request.id ? { ...current, settled: true } : current));
    // A succeeded refund changes the payment; one awaiting approval holds its amount: read both again.
    if (request.status === 'succeeded' || request.status === 'awaiting_approval') reload();
  };

  const refundAction = canRequestRefund
    ? (payment: PaymentView) => (
        <RefundButton
          payment={payment}
          t={t}
          requestInFlight={requestInFlight}
          onClick={() => setRefunding(payment)}
        />
      )
    : undefined;

  return (
    <>
      {followed && (
        <RefundProgress
          requestId={followed.id}
          source={source}
          t={t}
          pollIntervalMs={props.pollIntervalMs}
          onSettled={onSettled}
          onClose={() => setFollowed(undefined)}
        />
      )}
      {state.status === 'loaded' && state.data.length === 0 && <Text>{t('Payments_Empty')}</Text>}
      {state.status === 'loaded' && state.data.length > 0 && (
        <>
          {state.data.some((p) => p.disputed) && (
            <MessageBar messageBarType={MessageBarType.severeWarning}>
              {t('Payments_DisputedWarning')}
            </MessageBar>
          )}
          {narrow ? (
            <PaymentCards payments={state.data} {...props} refundAction={refundAction} />
          ) : (
            <PaymentTable payments={state.data} {...props} refundAction={refundAction} />
          )}
        </>
      )}
      {refunding && (
        <RefundDialog
          payment={refunding}
          t={t}
          formatMoney={formatMoney}
          numberFormat={numberFormat}
          onSubmit={submitRefund}
          onDismiss={(afterFailedSave) => {
            setRefunding(undefined);
            if (afterFailedSave) reload();
          }}
        />
      )}
    </>
  );
}

/**
 * A payment's Refund button. When it is disabled, why is said next to it, in text the button is described by
 * (a title alone reaches neither the keyboard nor a screen reader).
 */
function RefundButton({
  payment,
  t,
  requestInFlight,
  onClick,
}: {
  payment: PaymentView;
  t: Translate;
  requestInFlight: boolean;
  onClick: () => void;
}) {
  const why =
    payment.refundable <= 0
      ? t('Payments_NotRefundable')
      : requestInFlight
        ? t('Payments_RefundInFlight')
        : undefined;
  const whyId = `stc-refund-why-${payment.id}`;
  return (
    <>
      <DefaultButton
        text={t('Payments_Refund')}
        ariaLabel={t('Payments_RefundAria', payment.stripeId)}
        aria-describedby={why ? whyId : undefined}
        disabled={Boolean(why)}
        onClick={onClick}
      />
      {why && (
        <span id={whyId} className="stc-actions__note">
          {why}
        </span>
      )}
    </>
  );
}

interface ListProps extends PaymentPanelProps {
  payments: PaymentView[];
  refundAction?: (payment: PaymentView) => React.ReactNode;
}

function StatusCell({ payment, t }: { payment: PaymentView; t: Translate }) {
  return (
    <>
      <span className={`stc-status stc-status--${payment.status}`}>{payment.statusLabel}</span>
      {payment.disputed && payment.status !== 'disputed' && (
        <span className="stc-badge stc-badge--dispute">{t('Payments_Disputed')}</span>
      )}
      <ModeBadge livemode={payment.livemode} t={t} />
    </>
  );
}

function DashboardLink({ payment, t }: { payment: PaymentView; t: Translate }) {
  return (
    <StripeLink kind="payments" object={payment} ariaLabel={t('Payments_OpenInStripeAria', payment.stripeId)}>
      {t('Payments_OpenInStripe')}
    </StripeLink>
  );
}

function optionalMoney(
  format: ListProps['formatMoney'],
  amount: number | undefined,
  currency: string,
): string {
  return amount === undefined ? '—' : format(amount, currency);
}

/** What the table's columns and a card's facts show of a payment; `fact`: also on a card, below its head. */
interface PaymentColumn {
  label: string;
  numeric?: boolean;
  fact: boolean;
  cell: (payment: PaymentView, props: ListProps) => React.ReactNode;
}

const columns: PaymentColumn[] = [
  {
    label: 'Payments_Date',
    fact: true,
    cell: (payment, { formatDate }) => (payment.created ? formatDate(payment.created) : '—'),
  },
  {
    label: 'Payments_Status',
    fact: false,
    cell: (payment, { t }) => <StatusCell payment={payment} t={t} />,
  },
  {
    label: 'Payments_Amount',
    numeric: true,
    fact: false,
    cell: (payment, { formatMoney }) => formatMoney(payment.amount, payment.currency),
  },
  {
    label: 'Payments_Refunded',
    numeric: true,
    fact: true,
    cell: (payment, { formatMoney }) => formatMoney(payment.amountRefunded, payment.currency),
  },
  {
    label: 'Payments_Fee',
    numeric: true,
    fact: true,
    cell: (payment, { formatMoney }) => optionalMoney(formatMoney, payment.fee, payment.currency),
  },
  {
    label: 'Payments_Net',
    numeric: true,
    fact: true,
    cell: (payment, { formatMoney }) => optionalMoney(formatMoney, payment.net, payment.currency),
  },
  { label: 'Payments_Method', fact: true, cell: (payment) => payment.method || '—' },
];

/** A payment's link to Stripe and its refund button, in a table cell (`td`) or at a card's foot (`div`). */
function Actions({
  as: Container,
  payment,
  t,
  refundAction,
}: ListProps & { as: 'td' | 'div'; payment: PaymentView }) {
  return (
    <Container className="stc-actions">
      <DashboardLink payment={payment} t={t} />
      {refundAction?.(payment)}
    </Container>
  );
}

function PaymentTable(props: ListProps) {
  const { payments, t } = props;
  return (
    <table className="stc-table">
      <caption className="stc-visually-hidden">{t('Payments_Title')}</caption>
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column.label} scope="col" className={column.numeric ? 'stc-num' : undefined}>
              {t(column.label)}
            </th>
          ))}
          <th scope="col">{t('Payments_Actions')}</th>
        </tr>
      </thead>
      <tbody>
        {payments.map((payment) => (
          <tr key={payment.id} data-testid={`payment-${payment.stripeId}`}>
            {columns.map((column) => (
              <td key={column.label} className={column.numeric ? 'stc-num' : undefined}>
                {column.cell(payment, props)}
              </td>
            ))}
            <Actions as="td" {...props} payment={payment} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function PaymentCards(props: ListProps) {
  const { payments, t, formatMoney } = props;
  return (
    <ul className="stc-cards" aria-label={t('Payments_Title')}>
      {payments.map((payment) => (
        <li key={payment.id} className="stc-card" data-testid={`payment-${payment.stripeId}`}>
          <div className="stc-card__head">
            <strong>{formatMoney(payment.amount, payment.currency)}</strong>
            <StatusCell payment={payment} t={t} />
          </div>
          <dl className="stc-card__facts">
            {columns
              .filter((column) => column.fact)
              .map((column) => (
                <React.Fragment key={column.label}>
                  <dt>{t(column.label)}</dt>
                  <dd>{column.cell(payment, props)}</dd>
                </React.Fragment>
              ))}
          </dl>
          <Actions as="div" {...props} payment={payment} />
        </li>
      ))}
    </ul>
  );
}
