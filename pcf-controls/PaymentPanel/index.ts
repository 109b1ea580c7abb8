import * as React from 'react';
import type { IInputs, IOutputs } from './generated/ManifestTypes';
import { PaymentPanel as Panel } from './components/PaymentPanel';
import { webApiPaymentSource } from './components/PaymentData';
import { propsFromContext } from './components/propsFromContext';
import { translator } from '../shared/strings';
import type { PaymentSource } from './components/types';

/** Payments of the order or invoice on the form, and a refund request for one of them. */
export class PaymentPanel implements ComponentFramework.ReactControl<IInputs, IOutputs> {
  private source?: PaymentSource;

  public init(context: ComponentFramework.Context<IInputs>): void {
    context.mode.trackContainerResize(true);
    const t = translator(context.resources);
    this.source = webApiPaymentSource(context.webAPI, (input) =>
      t('RefundRequest_Name', input.payment.stripeId),
    );
  }

  public updateView(context: ComponentFramework.Context<IInputs>): React.ReactElement {
    return React.createElement(Panel, propsFromContext(context, this.source as PaymentSource));
  }

  public getOutputs(): IOutputs {
    return {};
  }

  public destroy(): void {
    // Nothing to release: polling stops when React unmounts the panel.
  }
}
