// A small well-formedness check for the XML glam writes (SVG): one root element, balanced tags, quoted
// unique attributes, escaped character data. Not a parser: no CDATA, comments or DTDs (glam writes none).

/** Throws unless `xml` is a well-formed document (the subset SVG writers use: no CDATA, no DTD). */
export function checkXml(xml: string): { root: string; elements: number } {
  const stack: string[] = [];
  let root = '';
  let elements = 0;
  const badText = (t: string) => /[<>]/.test(t) || /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i.test(t);
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (badText(text)) throw new Error(`bad character data ${JSON.stringify(text.slice(0, 40))}`);
    if (text.trim() !== '' && stack.length === 0) throw new Error('text outside the root element');
    if (lt < 0) break;
    const gt = xml.indexOf('>', lt);
    if (gt < 0) throw new Error('unterminated tag');
    const tag = xml.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('?')) {
      if (!tag.endsWith('?') || elements > 0) throw new Error('misplaced processing instruction');
      continue;
    }
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const m = /^([A-Za-z_][-\w:.]*)/.exec(body);
    if (!m) throw new Error(`bad tag <${tag}>`);
    const names = new Set<string>();
    let rest = body.slice(m[1]!.length);
    const attr = /^\s+([A-Za-z_:][-\w:.]*)="([^"]*)"/;
    for (let a = attr.exec(rest); a; a = attr.exec(rest)) {
      if (names.has(a[1]!)) throw new Error(`duplicate attribute ${a[1]}`);
      if (badText(a[2]!)) throw new Error(`bad attribute value ${a[2]}`);
      names.add(a[1]!);
      rest = rest.slice(a[0].length);
    }
    if (rest.trim() !== '') throw new Error(`bad attributes in <${tag}>`);
    if (stack.length === 0) {
      if (root !== '') throw new Error('two root elements');
      root = m[1]!;
    }
    elements++;
    if (!selfClosing) stack.push(m[1]!);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (root === '') throw new Error('no root element');
  return { root, elements };
}
