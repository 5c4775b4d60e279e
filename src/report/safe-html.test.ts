import { describe, expect, it } from 'vitest';
import { escapeHtml, html, SafeHtml } from './safe-html.js';

describe('escapeHtml', () => {
  it('escapes the five characters that can open markup or close an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  });
  it('leaves other text, unicode included, as it is', () => {
    expect(escapeHtml('heap +1.7 MB → Map table … ✓')).toBe('heap +1.7 MB → Map table … ✓');
  });
});

describe('html tag', () => {
  it('escapes every interpolated value, in content and in attributes', () => {
    const name = '"><script>alert(1)</script>';
    const out = html`<tr data-target="${name}"><td>${name}</td></tr>`.text;
    expect(out).not.toContain('<script>');
    expect(out).toBe(
      '<tr data-target="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"><td>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</td></tr>',
    );
  });
  it('keeps markup built by the tag, joins arrays, and drops null, undefined and false', () => {
    const items = ['a<b', 'c'].map((text) => html`<li>${text}</li>`);
    expect(html`<ul>${items}${null}${undefined}${false}</ul>`.text).toBe('<ul><li>a&lt;b</li><li>c</li></ul>');
    expect(html`${3}·${0}·${true}`.text).toBe('3·0·true');
  });
  it('only SafeHtml passes unescaped: a string that looks like markup is still text', () => {
    expect(html`${'<b>'}${new SafeHtml('<b>')}`.text).toBe('&lt;b&gt;<b>');
  });
});
