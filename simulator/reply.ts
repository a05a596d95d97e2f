/** One HTTP answer, built before faults get a chance to damage or replace it. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** what the body is, so a malformed-body fault knows how to damage it */
  kind: 'xml' | 'json' | 'text' | 'html';
}

/** PHP's default content type: SolusVM 1 sends it for XML, JSON and bare-text answers alike. */
export const PHP_CONTENT_TYPE = 'text/html; charset=UTF-8';

export function bareText(text: string): Reply {
  return { status: 200, headers: { 'content-type': PHP_CONTENT_TYPE }, body: text, kind: 'text' };
}

export function jsonReply(status: number, body: string, extra: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-cache, private', ...extra },
    body,
    kind: 'json',
  };
}
