/**
 * HTML that cannot forget to escape. Target names, commands, stderr lines and retainer paths in a report
 * are user input; the `html` tag escapes every value put into a template unless it is itself SafeHtml
 * (built by this tag), so the only way to insert markup is to build it with the tag.
 */

export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and for quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch]!);
}

/** A value in a template: SafeHtml as it is, arrays joined, nothing for null/undefined/false, text escaped. */
type Interpolated = SafeHtml | string | number | boolean | null | undefined | readonly Interpolated[];

function piece(value: Interpolated): string {
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(piece).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Interpolated[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += piece(value) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}
