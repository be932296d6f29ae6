import { buildZip } from './fixtures/zip.builder';

/**
 * A minimal DOCX whose body mixes paragraphs and tables (`buildDocx` writes paragraphs only): each block is a
 * paragraph (a string) or a table (rows of cell texts; '' an empty cell, a cell with `\n` one paragraph a line).
 */
export type DocxBlock = string | { table: readonly (readonly string[])[] };

const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
const REL_DOC = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument';

function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function paragraph(text: string): string {
  return text === '' ? '<w:p/>' : `<w:p><w:r><w:t xml:space="preserve">${xmlEscape(text)}</w:t></w:r></w:p>`;
}

function table(rows: readonly (readonly string[])[]): string {
  const columns = Math.max(...rows.map((r) => r.length));
  const grid = `<w:tblGrid>${'<w:gridCol w:w="2000"/>'.repeat(columns)}</w:tblGrid>`;
  const body = rows
    .map((row) => `<w:tr>${row.map((cell) => `<w:tc>${cell.split('\n').map(paragraph).join('')}</w:tc>`).join('')}</w:tr>`)
    .join('');
  return `<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/></w:tblPr>${grid}${body}</w:tbl>`;
}

export function buildDocxWithTables(blocks: readonly DocxBlock[]): Buffer {
  const decl = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
  const body = blocks.map((b) => (typeof b === 'string' ? paragraph(b) : table(b.table))).join('');
  return buildZip([
    {
      name: '[Content_Types].xml',
      data:
        decl +
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
        '<Default Extension="xml" ContentType="application/xml"/>' +
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>' +
        '</Types>',
    },
    {
      name: '_rels/.rels',
      data:
        decl +
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        `<Relationship Id="rId1" Type="${REL_DOC}" Target="word/document.xml"/></Relationships>`,
    },
    { name: 'word/document.xml', data: decl + `<w:document xmlns:w="${W}"><w:body>${body}</w:body></w:document>` },
  ]);
}
