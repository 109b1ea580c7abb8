/**
 * Localised strings come from the control's resx files through `context.resources.getString`; `{0}`, `{1}`…
 * in a string are replaced by the arguments, in the order given.
 */
export type Translate = (key: string, ...args: (string | number)[]) => string;

export function translator(resources: { getString(id: string): string }): Translate {
  return (key, ...args) => {
    const template = resources.getString(key) || key;
    return template.replace(/\{(\d+)\}/g, (whole, index: string) => {
      const arg = args[Number(index)];
      return arg === undefined ? whole : String(arg);
    });
  };
}
