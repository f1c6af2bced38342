/**
 * The contract's path template a request path belongs to (`/v1/tools/change.open/invoke` →
 * `/v1/tools/{tool}/invoke`), for the `http_route` label. Matched against the contract itself rather than read
 * from the router, so a request refused before routing (429, a foreign Origin's 403) is still labelled with its
 * route; a path of no operation is `unmatched`, so a scan of random paths adds one series, not one per path.
 */
import { operations } from '../../generated/operations.gen.js';

const UNMATCHED_ROUTE = 'unmatched';

/** `{name}` matches one path segment; the rest is literal. A trailing slash is ignored, as the router does. */
const matcherOf = (template: string): RegExp =>
  new RegExp(
    `^${template
      .split(/\{\w+\}/)
      .map(escape)
      .join('[^/]+')}/?$`,
  );

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Each template once (several methods share a path); literal templates first, so `/x/y` never loses to `/x/{id}`. */
const ROUTES = [...new Set(Object.values(operations).map((op): string => op.path))]
  .sort((a, b) => Number(a.includes('{')) - Number(b.includes('{')))
  .map((template) => ({ template, matcher: matcherOf(template) }));

/** Templates without parameters, with and without a trailing slash: most requests are found here, at once. */
const LITERAL = new Map(
  ROUTES.filter(({ template }) => !template.includes('{')).flatMap(({ template }) => [
    [template, template],
    [`${template}/`, template],
  ]),
);

/** The template of `path`, or `unmatched`. */
export const routeTemplate = (path: string): string =>
  LITERAL.get(path) ?? ROUTES.find(({ matcher }) => matcher.test(path))?.template ?? UNMATCHED_ROUTE;
