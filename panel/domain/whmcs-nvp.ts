/**
 * WHMCS's deprecated NVP answer (developers.whmcs.com/api/response-types/: "JSON (Recommended),
 * XML, NVP (Deprecated)"): the answer's fields as `name=value;`, one after the other, as the
 * older public PHP clients read it — they split the text on ";" and each pair on "=" (e.g.
 * queiroz/whmcs-api, forked as mgufrone/whmcs-api, WhmcsApi::formatObject). Only a flat answer
 * fits: lists and blocks (GetInvoice's items, GetClientsDetails' client) are left out, and a
 * client that needs them asks for JSON or XML. Values are written as PHP casts them to text
 * (true "1", false and null empty); a ";" or "=" inside a value would break those clients'
 * split, as it would with WHMCS. The layout beyond that is not documented publicly and should
 * be checked against a licensed WHMCS.
 */
export function whmcsNvp(body: Record<string, unknown>): string {
  let out = '';
  for (const [key, value] of Object.entries(body)) {
    if (value !== null && typeof value === 'object') continue;
    const text =
      value === true ? '1' : value === false || value === null || value === undefined ? '' : String(value);
    out += `${key}=${text};`;
  }
  return out;
}
