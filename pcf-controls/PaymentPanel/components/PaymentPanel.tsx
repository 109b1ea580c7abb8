import * as React from 'react';
import { DefaultButton, Link, MessageBar, MessageBarType, Text } from '@fluentui/react';
import { dashboardUrl } from '../../shared/stripeDashboard';
import type { Translate } from '../../shared/strings';
import { useLoad } from '../../shared/useLoad';
import { ConfigurationProblem, PanelState } from '../../shared/PanelState';
import { RefundDialog } from './RefundDialog';
import { RefundProgress } from './RefundProgress';
import type { ValidRefund } from './RefundValidation';
import type { PaymentSource, PaymentView, RefundRequestView } from './types';

export interface PaymentPanelProps {
  source: PaymentSource;
  /** The order or invoice on the form; undefined while it is new. */
  record?: { entityTypeName: string; id: string };
  /** A problem with how the control is set up, shown instead of the panel. */
  configurationError?: string;
  t: Translate;
  formatMoney: (amount: number, currency: string) => string;
  formatDate: (date: Date) => string;
  /** The user may create refund requests (privilege on stc_refundrequest). */
  canRequestRefund: boolean;
  /** The form or the field is read-only: nothing can be changed from the panel. */
  readOnly: boolean;
  /** Width the platform allocated, in pixels (-1 when unknown). */
  width: number;
  pollIntervalMs: number;
}

/** Below this width the table becomes a list of cards (the mobile app's form column). */
export const NARROW_WIDTH = 560;

export const PaymentPanel = React.memo(function PaymentPanel(props: PaymentPanelProps) {
  const { record, configurationError, t } = props;
  if (configurationError) return <ConfigurationProblem message={configurationError} />;
  if (!record) {
    return (
      <div className="stc-payment-panel">
        <Text>{t('Payments_SaveFirst')}</Text>
      </div>
    );
  }
  return <PaymentPanelForRecord {...props} record={record} />;
});

function PaymentPanelForRecord(
  props: PaymentPanelProps & { record: { entityTypeName: string; id: string } },
) {
  const { source, record, t, width, readOnly, canRequestRefund, formatMoney } = props;
  const [state, reload] = useLoad(`${record.entityTypeName}:${record.id}`, () =>
    source.listPayments(record.entityTypeName, record.id),
  );
  const [refunding, setRefunding] = React.useState<PaymentView>();
  const [requestId, setRequestId] = React.useState<string>();
  const narrow = width > 0 && width < NARROW_WIDTH;

  const submitRefund = async (value: ValidRefund) => {
    if (!refunding) return;
    const id = await source.requestRefund({ payment: refunding, ...value });
    setRefunding(undefined);
    setRequestId(id);
  };
  const onFinal = (request: RefundRequestView) => {
    if (request.status === 'succeeded') reload();
  };

  const refundAction = canRequestRefund
    ? (payment: PaymentView) => (
        <DefaultButton
          text={t('Payments_Refund')}
          ariaLabel={t('Payments_RefundAria', payment.stripeId)}
          disabled={readOnly || payment.refundable <= 0 || Boolean(requestId)}
          title={
            readOnly
              ? t('Payments_ReadOnly')
              : payment.refundable <= 0
                ? t('Payments_NotRefundable')
                : undefined
          }
          onClick={() => setRefunding(payment)}
        />
      )
    : undefined;

  return (
    <section
      className={`stc-payment-panel${narrow ? ' stc-payment-panel--narrow' : ''}`}
      aria-label={t('Payments_Title')}
    >
      <PanelState
        state={state}
        t={t}
        onRetry={reload}
        loadingKey="Payments_Loading"
        errorKey="Payments_LoadFailed"
      />
      {requestId && (
        <RefundProgress
          requestId={requestId}
          source={source}
          t={t}
          pollIntervalMs={props.pollIntervalMs}
          onFinal={onFinal}
          onClose={() => setRequestId(undefined)}
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
          onSubmit={submitRefund}
          onDismiss={() => setRefunding(undefined)}
        />
      )}
    </section>
  );
}

interface ListProps extends PaymentPanelProps {
  payments: PaymentView[];
  refundAction?: (payment: PaymentView) => React.ReactNode;
}

function ModeBadge({ payment, t }: { payment: PaymentView; t: Translate }) {
  return payment.livemode ? null : <span className="stc-badge stc-badge--test">{t('Common_TestMode')}</span>;
}

function StatusCell({ payment, t }: { payment: PaymentView; t: Translate }) {
  return (
    <>
      <span className={`stc-status stc-status--${payment.status}`}>{payment.statusLabel}</span>
      {payment.disputed && payment.status !== 'disputed' && (
        <span className="stc-badge stc-badge--dispute">{t('Payments_Disputed')}</span>
      )}
      <ModeBadge payment={payment} t={t} />
    </>
  );
}

function DashboardLink({ payment, t }: { payment: PaymentView; t: Translate }) {
  return (
    <Link
      href={dashboardUrl('payments', payment.stripeId, payment.livemode, payment.stripeAccount)}
      target="_blank"
      rel="noopener noreferrer"
      aria-label={t('Payments_OpenInStripeAria', payment.stripeId)}
    >
      {t('Payments_OpenInStripe')}
    </Link>
  );
}

function optionalMoney(
  format: ListProps['formatMoney'],
  amount: number | undefined,
  currency: string,
): string {
  return amount === undefined ? '—' : format(amount, currency);
}

function PaymentTable({ payments, t, formatMoney, formatDate, refundAction }: ListProps) {
  return (
    <table className="stc-table">
      <caption className="stc-visually-hidden">{t('Payments_Title')}</caption>
      <thead>
        <tr>
          <th scope="col">{t('Payments_Date')}</th>
          <th scope="col">{t('Payments_Status')}</th>
          <th scope="col" className="stc-num">
            {t('Payments_Amount')}
          </th>
          <th scope="col" className="stc-num">
            {t('Payments_Refunded')}
          </th>
          <th scope="col" className="stc-num">
            {t('Payments_Fee')}
          </th>
          <th scope="col" className="stc-num">
            {t('Payments_Net')}
          </th>
          <th scope="col">{t('Payments_Method')}</th>
          <th scope="col">{t('Payments_Actions')}</th>
        </tr>
      </thead>
      <tbody>
        {payments.map((payment) => (
          <tr key={payment.id} data-testid={`payment-${payment.stripeId}`}>
            <td>{payment.created ? formatDate(payment.created) : '—'}</td>
            <td>
              <StatusCell payment={payment} t={t} />
            </td>
            <td className="stc-num">{formatMoney(payment.amount, payment.currency)}</td>
            <td className="stc-num">{formatMoney(payment.amountRefunded, payment.currency)}</td>
            <td className="stc-num">{optionalMoney(formatMoney, payment.fee, payment.currency)}</td>
            <td className="stc-num">{optionalMoney(formatMoney, payment.net, payment.currency)}</td>
            <td>{payment.method || '—'}</td>
            <td className="stc-actions">
              <DashboardLink payment={payment} t={t} />
              {refundAction?.(payment)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function PaymentCards({ payments, t, formatMoney, formatDate, refundAction }: ListProps) {
  return (
    <ul className="stc-cards" aria-label={t('Payments_Title')}>
      {payments.map((payment) => (
        <li key={payment.id} className="stc-card" data-testid={`payment-${payment.stripeId}`}>
          <div className="stc-card__head">
            <strong>{formatMoney(payment.amount, payment.currency)}</strong>
            <StatusCell payment={payment} t={t} />
          </div>
          <dl className="stc-card__facts">
            <dt>{t('Payments_Date')}</dt>
            <dd>{payment.created ? formatDate(payment.created) : '—'}</dd>
            <dt>{t('Payments_Refunded')}</dt>
            <dd>{formatMoney(payment.amountRefunded, payment.currency)}</dd>
            <dt>{t('Payments_Fee')}</dt>
            <dd>{optionalMoney(formatMoney, payment.fee, payment.currency)}</dd>
            <dt>{t('Payments_Net')}</dt>
            <dd>{optionalMoney(formatMoney, payment.net, payment.currency)}</dd>
            <dt>{t('Payments_Method')}</dt>
            <dd>{payment.method || '—'}</dd>
          </dl>
          <div className="stc-actions">
            <DashboardLink payment={payment} t={t} />
            {refundAction?.(payment)}
          </div>
        </li>
      ))}
    </ul>
  );
}
