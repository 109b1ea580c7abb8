export { startTokenEndpoint } from './token-endpoint';
export type {
  EntraClient,
  EntraUser,
  ManagedIdentity,
  TokenEndpoint,
  TokenEndpointOptions,
  TokenEndpointStats,
} from './token-endpoint';
export { createClientCertificate } from './certificates';
export type { ClientCertificate } from './certificates';
