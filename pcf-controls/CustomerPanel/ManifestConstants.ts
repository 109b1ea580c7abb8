/** Property names as the manifest declares them. */
export const ManifestConstants = {
  stripeCustomerId: 'stripeCustomerId',
} as const;
