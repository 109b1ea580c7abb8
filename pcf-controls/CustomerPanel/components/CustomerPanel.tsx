import * as React from 'react';
import { MessageBar, MessageBarType, Text } from '@fluentui/react';
import type { PanelProps } from '../../shared/panelContext';
import { ModeBadge, recordPanel, StripeLink, type LoadedRecord } from '../../shared/RecordPanel';
import type { Translate } from '../../shared/strings';
import { LinkCustomer } from './LinkCustomer';
import type { CustomerSource, CustomerSummary, ModeTotals, MoneyTotal, RecentPayment } from './types';

export interface CustomerPanelProps extends PanelProps<CustomerSource> {
  /** Field security hides the customer id from this user. */
  idHidden: boolean;
}

export const CustomerPanel = recordPanel<CustomerPanelProps, CustomerSummary>(
  {
    className: 'stc-customer-panel',
    strings: 'Customer',
    load: ({ source }, table, id) => source.summary(table, id),
  },
  CustomerPanelContent,
);

function CustomerPanelContent(props: CustomerPanelProps & LoadedRecord<CustomerSummary>) {
  const { source, record, t, readOnly, state, reload } = props;
  const [linked, setLinked] = React.useState<string>();

  const link = async (stripeCustomerId: string) => {
    await source.link(record.entityTypeName, record.id, stripeCustomerId);
    setLinked(stripeCustomerId);
    reload();
  };

  return (
    <>
      {linked && (
        <MessageBar messageBarType={MessageBarType.success} isMultiline>
          {t('Link_Done', linked)}
        </MessageBar>
      )}
      {state.status === 'loaded' &&
        (state.data.stripeCustomerId ? (
          <Summary {...props} summary={state.data} />
        ) : (
          <LinkCustomer t={t} readOnly={readOnly} onLink={link} />
        ))}
    </>
  );
}

function moneyList(totals: MoneyTotal[], format: CustomerPanelProps['formatMoney']): string {
  return totals.length === 0 ? '—' : totals.map((total) => format(total.amount, total.currency)).join(' · ');
}

function Totals({
  totals,
  t,
  formatMoney,
  besideOtherMode,
}: {
  totals: ModeTotals;
  t: Translate;
  formatMoney: CustomerPanelProps['formatMoney'];
  /** Shown beside the other mode's totals: test-mode ones carry their badge (else the customer's says it). */
  besideOtherMode: boolean;
}) {
  const heading = totals.livemode ? t('Customer_TotalsLive') : t('Customer_TotalsTest');
  return (
    <div
      className={`stc-totals${totals.livemode ? '' : ' stc-totals--test'}`}
      role="group"
      aria-label={heading}
    >
      {besideOtherMode && <ModeBadge livemode={totals.livemode} t={t} />}
      <dl className="stc-tiles">
        <div className="stc-tile">
          <dt>{t('Customer_LifetimePaid')}</dt>
          <dd>{moneyList(totals.paid, formatMoney)}</dd>
        </div>
        <div className="stc-tile">
          <dt>{t('Customer_Refunded')}</dt>
          <dd>{moneyList(totals.refunded, formatMoney)}</dd>
        </div>
        <div className="stc-tile">
          <dt>{t('Customer_OpenInvoices')}</dt>
          <dd>
            {totals.openInvoices}
            {totals.openInvoices > 0 && ` (${moneyList(totals.openInvoiceAmount, formatMoney)})`}
          </dd>
        </div>
        {totals.mrr.length > 0 && (
          <div className="stc-tile">
            <dt>{t('Customer_Mrr')}</dt>
            <dd>{moneyList(totals.mrr, formatMoney)}</dd>
          </div>
        )}
      </dl>
    </div>
  );
}

function PaymentItems({
  payments,
  t,
  formatMoney,
  formatDate,
}: { payments: RecentPayment[] } & CustomerPanelProps) {
  return (
    <ul className="stc-list">
      {payments.map((payment) => (
        <li key={payment.id} data-testid={`payment-${payment.stripeId}`}>
          <span className="stc-list__main">
            <StripeLink
              kind="payments"
              object={payment}
              ariaLabel={t(
                'Customer_OpenPaymentAria',
                payment.stripeId,
                formatMoney(payment.amount, payment.currency),
              )}
            >
              {formatMoney(payment.amount, payment.currency)}
            </StripeLink>{' '}
            {payment.statusLabel}
            {payment.disputed && !payment.statusIsDisputed && (
              <span className="stc-badge stc-badge--dispute">{t('Customer_Disputed')}</span>
            )}
            <ModeBadge livemode={payment.livemode} t={t} />
          </span>
          <span className="stc-list__side">{payment.created ? formatDate(payment.created) : ''}</span>
        </li>
      ))}
    </ul>
  );
}

/** The customer's id, linked to the Stripe Dashboard unless field security hides it, and its mode. */
function CustomerHead({ summary, t, idHidden }: CustomerPanelProps & { summary: CustomerSummary }) {
  const customerId = summary.stripeCustomerId as string;
  return (
    <div className="stc-customer-head">
      <span className="stc-label">{t('Customer_StripeId')}</span>{' '}
      {idHidden ? (
        <span>{t('Customer_IdHidden')}</span>
      ) : (
        <StripeLink
          kind="customers"
          object={{
            stripeId: customerId,
            livemode: summary.livemode,
            stripeAccount: summary.stripeAccount,
          }}
          ariaLabel={t('Customer_OpenCustomerAria', customerId)}
        >
          {customerId}
        </StripeLink>
      )}
      <ModeBadge livemode={summary.livemode} t={t} />
    </div>
  );
}

function Summary(props: CustomerPanelProps & { summary: CustomerSummary }) {
  const { summary, t, formatMoney, formatDate } = props;
  return (
    <>
      <CustomerHead {...props} />
      {summary.disputedPayments.length > 0 && (
        <MessageBar messageBarType={MessageBarType.severeWarning} isMultiline>
          {t('Customer_DisputesWarning', summary.disputedPayments.length)}
        </MessageBar>
      )}
      {summary.totals.length === 0 ? (
        <Text>{t('Customer_NoActivity')}</Text>
      ) : (
        summary.totals.map((totals) => (
          <Totals
            key={String(totals.livemode)}
            totals={totals}
            t={t}
            formatMoney={formatMoney}
            besideOtherMode={summary.totals.length > 1}
          />
        ))
      )}
      <h3 className="stc-heading">{t('Customer_Subscriptions', summary.activeSubscriptions.length)}</h3>
      {summary.activeSubscriptions.length === 0 ? (
        <Text>{t('Customer_NoSubscriptions')}</Text>
      ) : (
        <ul className="stc-list">
          {summary.activeSubscriptions.map((s) => (
            <li key={s.id} data-testid={`subscription-${s.stripeId}`}>
              <span className="stc-list__main">
                <StripeLink kind="subscriptions" object={s}>
                  {s.description}
                </StripeLink>{' '}
                {s.amount !== undefined && `${formatMoney(s.amount, s.currency)} / ${s.intervalLabel}`}{' '}
                {s.statusLabel}
                <ModeBadge livemode={s.livemode} t={t} />
              </span>
              <span className="stc-list__side">
                {s.periodEnd
                  ? t(s.cancelAtPeriodEnd ? 'Customer_EndsOn' : 'Customer_RenewsOn', formatDate(s.periodEnd))
                  : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
      <h3 className="stc-heading">{t('Customer_RecentPayments')}</h3>
      {summary.recentPayments.length === 0 ? (
        <Text>{t('Customer_NoPayments')}</Text>
      ) : (
        <PaymentItems {...props} payments={summary.recentPayments} />
      )}
      {summary.disputedPayments.length > 0 && (
        <>
          <h3 className="stc-heading">{t('Customer_OpenDisputes')}</h3>
          <PaymentItems {...props} payments={summary.disputedPayments} />
        </>
      )}
    </>
  );
}
