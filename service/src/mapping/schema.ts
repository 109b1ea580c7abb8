/**
 * The mapping file format (YAML). One file holds the mappings of one Stripe resource; each mapping turns
 * one Stripe object into one Dataverse row. `mappingFileJsonSchema()` gives the same schema as JSON Schema
 * for editors.
 *
 * ```yaml
 * version: 1                          # bump on every edit; stored with each mapped row's dry run
 * lookups:                            # named lookup tables: a data file beside this one, or inline
 *   products: lookups/products.yaml
 * mappings:
 *   payment_intent:                   # the mapping's name, used in errors and by handlers
 *     source: payment_intent          # the Stripe object type it reads
 *     refresh: { expand: [latest_charge.balance_transaction], when: missing, needs: [latest_charge] }
 *     let: { charge: "$type(latest_charge) = 'object' ? latest_charge" }   # $charge below
 *     when: "status != 'canceled'"    # optional condition (JSONata)
 *     table: stc_payment              # Dataverse table (logical name)
 *     key: { stc_stripeid: id }       # alternate key column → expression
 *     columns:
 *       stc_amount: $minorToMajor(amount, currency)      # a string is a JSONata expression
 *       stc_status: { expr: status, map: { succeeded: Succeeded }, default: Pending, required: true }
 *       stc_source: { value: Stripe }                    # a constant
 *     links:                          # lookup columns, bound with @odata.bind
 *       stc_customerid: { match: stc_stripecustomerid, value: customer }
 * ```
 */
import { z } from 'zod';

const expression = z.string().trim().min(1, 'an expression must not be empty');
const literal = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const columnSpecSchema = z.union([
  expression,
  z
    .object({
      /** JSONata expression over the Stripe object; `$event` is the event envelope. */
      expr: expression.optional(),
      /** A constant instead of an expression. */
      value: literal.optional(),
      /** Conditional mapping: the expression's result (as text) → the column's value or option label. */
      map: z.record(z.string(), literal).optional(),
      /** Used when the result is missing, null or empty. */
      default: literal.optional(),
      /**
       * Used when the result is present but has no place: not one of the `map`'s keys, or (for a choice
       * column) not one of its options, e.g. a Stripe value added after this mapping was written.
       * Without it, an unmapped key leaves the column out and an unknown option fails the event.
       */
      fallback: literal.optional(),
      /** Fail the event (permanently, naming the column) when there is no value. */
      required: z.boolean().optional(),
      /** Cut text longer than the column's maximum length instead of failing. */
      truncate: z.boolean().optional(),
      description: z.string().optional(),
    })
    .strict()
    .refine((spec) => spec.expr !== undefined || spec.value !== undefined || spec.default !== undefined, {
      message: 'a column needs `expr`, `value` or `default`',
    })
    .refine((spec) => !(spec.expr !== undefined && spec.value !== undefined), {
      message: 'a column takes either `expr` or `value`, not both',
    }),
]);

export const linkSpecSchema = z
  .object({
    /** Tables to look in, in order; defaults to the lookup column's targets in the table model. */
    targets: z.array(z.string()).min(1).optional(),
    /** Expression giving the target row's GUID: bound directly, no read. */
    id: expression.optional(),
    /** Column of the target table to find the row by (an alternate key or any column)… */
    match: z.string().optional(),
    /** …and the expression giving the value to find. */
    value: expression.optional(),
    /**
     * Bind through the alternate key (`/stc_payments(stc_stripeid='pi_1')`) without reading first. Only
     * for a `match` column that is the target's alternate key, and a row the handler has just written.
     */
    byKey: z.boolean().optional(),
    description: z.string().optional(),
  })
  .strict()
  .refine((link) => link.id !== undefined || (link.match !== undefined && link.value !== undefined), {
    message: 'a link needs `id`, or `match` and `value`',
  })
  .refine((link) => (link.match === undefined) === (link.value === undefined), {
    message: '`match` and `value` go together',
  });

export const mappingSpecSchema = z
  .object({
    description: z.string().optional(),
    source: z.string().min(1),
    table: z.string().min(1),
    /** Named values computed once per object and usable as `$name` in every expression of the mapping. */
    let: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a `let` name is a plain identifier'), expression)
      .optional(),
    when: expression.optional(),
    /**
     * Reading the object from Stripe: `true` or `{ expand }` on every event; with `when: missing` only when the
     * payload may be stale (an event of the same second, a thin notification) or lacks one of `needs` (a field
     * the payload has as a bare id, or not at all); fields outside `needs` the payload lacks are left unwritten.
     */
    refresh: z
      .union([
        z.boolean(),
        z
          .object({
            expand: z.array(z.string()).default([]),
            when: z.enum(['always', 'missing']).default('always'),
            needs: z.array(z.string().min(1)).default([]),
          })
          .strict(),
      ])
      .optional(),
    key: z.record(z.string(), expression).refine((key) => Object.keys(key).length > 0, {
      message: 'a mapping needs at least one key column',
    }),
    columns: z.record(z.string(), columnSpecSchema),
    links: z.record(z.string(), linkSpecSchema).optional(),
  })
  .strict();

export const mappingFileSchema = z
  .object({
    version: z.union([z.number().int().nonnegative(), z.string().min(1)]),
    description: z.string().optional(),
    lookups: z.record(z.string(), z.union([z.string(), z.record(z.string(), literal)])).optional(),
    mappings: z.record(z.string(), mappingSpecSchema),
  })
  .strict();

export type ColumnSpecInput = z.infer<typeof columnSpecSchema>;
export type LinkSpec = z.infer<typeof linkSpecSchema>;
export type MappingSpec = z.infer<typeof mappingSpecSchema>;
export type MappingFileSpec = z.infer<typeof mappingFileSchema>;
export type Literal = z.infer<typeof literal>;

/** The same format as JSON Schema (draft 2020-12), for editor completion and validation of YAML files. */
export function mappingFileJsonSchema(): object {
  return z.toJSONSchema(mappingFileSchema, { io: 'input' });
}
