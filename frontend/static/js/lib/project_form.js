// The project form's text fields as API values and back, free of the DOM so node can test it.

const TYPES = new Set(["boolean", "text", "number", "choice"]);

// "occluded: boolean" / "pose: choice perched|flying" lines -> [{name, type, options?}], with line errors.
export function parseAttributes(text) {
  const attributes = [];
  const errors = [];
  const seen = new Set();
  String(text || "").split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line) return;
    const match = /^([^:]+):\s*(\w+)\s*(.*)$/.exec(line);
    if (!match) {
      errors.push({ line: index + 1, message: "Write name: type (boolean, text, number or choice a|b)." });
      return;
    }
    const [, rawName, rawType, rest] = match;
    const name = rawName.trim();
    const type = rawType.toLowerCase();
    if (!TYPES.has(type)) {
      errors.push({ line: index + 1, message: `Unknown type "${rawType}": boolean, text, number or choice.` });
      return;
    }
    if (seen.has(name)) {
      errors.push({ line: index + 1, message: `"${name}" is already an attribute.` });
      return;
    }
    seen.add(name);
    const attribute = { name, type };
    if (type === "choice") {
      const options = rest.split("|").map((o) => o.trim()).filter(Boolean);
      if (options.length < 2) {
        errors.push({ line: index + 1, message: "A choice needs at least two options: choice a|b." });
        return;
      }
      attribute.options = options;
    }
    attributes.push(attribute);
  });
  return { attributes, errors };
}

export function attributesText(attributes) {
  return (attributes || []).map((a) => `${a.name}: ${a.type}${a.options ? ` ${a.options.join("|")}` : ""}`).join("\n");
}

// "12.5" in a currency with `digits` minor digits -> 1250; "" -> 0; anything else -> null (refused).
export function toMinor(value, digits = 2) {
  const text = String(value ?? "").trim();
  if (text === "") return 0;
  if (!/^\d+(\.\d+)?$/.test(text)) return null;
  const [whole, fraction = ""] = text.split(".");
  if (fraction.length > digits) return null;
  return Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, "0") || 0);
}

export function fromMinor(minor, digits = 2) {
  return digits ? (minor / 10 ** digits).toFixed(digits) : String(minor);
}

// The tools a media type offers, in the order the form shows them.
export function toolsFor(mediaType) {
  return mediaType === "image" ? ["classify", "bbox", "polygon", "keypoint"] : ["classify", "span"];
}

// An API 422's field errors as lines for people: "label_schema.labels.0.id: Unknown ...".
export function problemLines(problem) {
  const lines = [];
  for (const [field, messages] of Object.entries((problem && problem.errors) || {})) {
    lines.push(`${field}: ${[].concat(messages).join(" ")}`);
  }
  return lines;
}
