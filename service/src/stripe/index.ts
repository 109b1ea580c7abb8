export { createStripeClients, type StripeFor } from './clients';
