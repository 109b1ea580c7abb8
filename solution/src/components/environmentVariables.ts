/**
 * Environment variable definitions shipped with the solution. No secret is ever one of them: keys live in
 * the service's configuration and in the webhook endpoint's write-only auth value.
 */
export type EnvironmentVariableType = 'String' | 'Number' | 'Boolean' | 'JSON';

export interface SolutionEnvironmentVariable {
  schemaName: string;
  displayName: string;
  description: string;
  type: EnvironmentVariableType;
  defaultValue?: string;
  required: boolean;
}

/** Dataverse's environmentvariabledefinition.type values. */
export const environmentVariableTypeCode: Record<EnvironmentVariableType, number> = {
  String: 100000000,
  Number: 100000001,
  Boolean: 100000002,
  JSON: 100000003,
};

/** Default approval thresholds in minor units: 500 USD and EUR, 400 GBP, 75,000 JPY, 150 KWD. */
export const DEFAULT_REFUND_APPROVAL_THRESHOLDS: Readonly<Record<string, number>> = {
  usd: 50_000,
  eur: 50_000,
  gbp: 40_000,
  jpy: 75_000,
  kwd: 150_000,
};

/** Default thresholds of off-session charges of a saved payment method, in minor units: the refund figures. */
export const DEFAULT_CHARGE_APPROVAL_THRESHOLDS: Readonly<Record<string, number>> = {
  ...DEFAULT_REFUND_APPROVAL_THRESHOLDS,
};

export const environmentVariables: SolutionEnvironmentVariable[] = [
  {
    schemaName: 'stc_RefundApprovalThresholds',
    displayName: 'Refund approval thresholds',
    description:
      'Refund requests above the threshold of their currency wait for a Stripe Finance Approver; a request is weighed together with the refunds its payment\'s earlier requests made without an approver, so splitting a refund does not avoid approval. A JSON object of lower-case ISO currency codes to amounts in minor units (cents, yen, fils), e.g. {"usd":50000,"jpy":75000}; a currency not listed needs approval for every refund.',
    type: 'JSON',
    defaultValue: JSON.stringify(DEFAULT_REFUND_APPROVAL_THRESHOLDS),
    required: true,
  },
  {
    schemaName: 'stc_ChargeApprovalThresholds',
    displayName: 'Charge approval thresholds',
    description:
      'Charge requests (off-session charges of a customer\'s saved payment method) above the threshold of their currency wait for a Stripe Finance Approver; a request is weighed together with the same customer\'s other charges in that currency made without an approver (those on their way, and those that succeeded in the last 24 hours), so splitting a charge does not avoid approval. A JSON object of lower-case ISO currency codes to amounts in minor units, e.g. {"usd":50000,"jpy":75000}; a currency not listed needs approval for every charge.',
    type: 'JSON',
    defaultValue: JSON.stringify(DEFAULT_CHARGE_APPROVAL_THRESHOLDS),
    required: true,
  },
  {
    schemaName: 'stc_ServiceBaseUrl',
    displayName: 'Connector service base URL',
    description: 'Base URL of the Stripe connector service, e.g. https://stripe-connector.contoso.com.',
    type: 'String',
    required: false,
  },
  {
    schemaName: 'stc_StripeDashboardBaseUrl',
    displayName: 'Stripe Dashboard base URL',
    description: 'Base URL for links from Dynamics 365 to objects in the Stripe Dashboard.',
    type: 'String',
    defaultValue: 'https://dashboard.stripe.com',
    required: true,
  },
  {
    schemaName: 'stc_StatusPollSeconds',
    displayName: 'Status refresh interval (seconds)',
    description: 'How often the payment controls re-read a pending refund request while a form is open.',
    type: 'Number',
    defaultValue: '3',
    required: false,
  },
];
