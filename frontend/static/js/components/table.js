// Table cells for the pages' data tables: text only (never HTML), an optional class.
export function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
  return td;
}
