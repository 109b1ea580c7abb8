import * as React from 'react';
import type { IInputs, IOutputs } from './generated/ManifestTypes';
import { CustomerPanel as Panel } from './components/CustomerPanel';
import { webApiCustomerSource } from './components/CustomerData';
import { propsFromContext } from './components/propsFromContext';
import type { CustomerSource } from './components/types';

/** An account's or contact's Stripe customer: totals, subscriptions, payments, disputes; linking when unlinked. */
export class CustomerPanel implements ComponentFramework.ReactControl<IInputs, IOutputs> {
  private source?: CustomerSource;

  public init(context: ComponentFramework.Context<IInputs>): void {
    context.mode.trackContainerResize(true);
    this.source = webApiCustomerSource(context.webAPI);
  }

  public updateView(context: ComponentFramework.Context<IInputs>): React.ReactElement {
    return React.createElement(Panel, propsFromContext(context, this.source as CustomerSource));
  }

  public getOutputs(): IOutputs {
    return {};
  }

  public destroy(): void {
    // Nothing to release.
  }
}
