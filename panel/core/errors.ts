/**
 * A refusal with WHMCS's wording, e.g. "Invoice ID Not Found". Commands throw it; the External
 * API and the in-process API both turn it into `{"result":"error","message":"…"}`.
 */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

/** WHMCS's messages, and the panel's own for cases WHMCS leaves undocumented (marked "panel"). */
export const MSG = {
  authFailed: 'Authentication Failed',
  // ValidateLogin's refusal for an unknown email, a wrong password or a closed account alike
  loginInvalid: 'Email or Password Invalid',
  tooManyAttempts: (seconds: number) => `Too many failed login attempts. Try again in ${seconds} seconds.`,
  invalidIp: (ip: string) => `Invalid IP ${ip}`,
  commandNotFound: 'Command Not Found',
  localApiOnly: 'API Command Restricted to Internal API',
  invoiceNotFound: 'Invoice ID Not Found',
  clientIdNotFound: 'Client ID Not Found',
  clientNotFound: 'Client Not Found',
  clientIdOrEmail: 'Either clientid Or email Is Required',
  draftAndSend:
    'Cannot create and send a draft invoice in a single API request. Please create and send separately.',
  mustBeDraftToPublish: 'Invoice must be in Draft status to be published',
  missingItemVars:
    'Missing Variables: itemdescription, itemamount and itemtaxed are required for each item being changed',
  invalidStatus: (s: string) => `Invalid status ${s}`,
  invoiceNotUnpaid: 'Invoice Not in Unpaid Status',
  creditExceedsBalance: 'Amount exceeds customer credit balance',
  creditExceedsInvoice: 'Amount Exceeds Invoice Balance',
  creditNotPositive: 'Credit Amount to apply must be greater than zero',
  paymentOnCancelled: 'It is not possible to add a payment to an invoice that is Cancelled',
  serviceIdNotFound: 'Service ID Not Found',
  serviceIdRequired: 'Service ID is required',
  moduleServiceNotFound: 'Service ID not found',
  notAssignedToModule: 'Service not assigned to a module',
  emailNeedTemplateOrType: 'You must provide either an existing email template name or a custom message type',
  emailInvalidType: 'Invalid message type provided',
  emailSubjectRequired: 'A subject is required for a custom message',
  emailBodyRequired: 'A message body is required for a custom message',
  emailBadCustomVars: 'The custom variables you provided are invalid.',
  emailRelatedIdRequired: 'A related ID is required',
  emailTemplateNotFound: 'Email Template not found',
  emailTemplateDisabled: 'Email Template is disabled',
  emailSendingFailed: 'Sending Failed. Please see documentation.',
  settingRequired: 'Parameter setting is required',
  settingInvalid: 'Invalid name for parameter setting',
  amountFormat: 'Amount must be in decimal format: ### or ###.##',
  dateFormat: "Invalid Date Format - Expected: 'YYYY-mm-dd'",
  // panel: WHMCS does not document these cases
  descriptionRequired: 'Parameter description is required',
  newItemVars:
    'Missing Variables: newitemdescription, newitemamount and newitemtaxed must be arrays with an entry for each new item',
  createItemVars: (n: string) =>
    `Missing Variables: itemdescription${n} is required for itemamount${n} and itemtaxed${n}`,
  notAnArray: (name: string) => `Invalid ${name}: an array is expected (${name}[]=… or ${name}[id]=…)`,
  itemNotOnInvoice: (id: string) => `Invoice Item ID Not Found: ${id}`,
  taxRateFormat: 'Tax rate must be a number between 0 and 100 with at most 3 decimals',
  amountNegative: 'Amount must not be negative',
  invalidId: (name: string) => `Invalid ${name}: a positive whole number is required`,
  adminTemplateNeeded:
    'You must provide either an existing email template name or a custom subject and message',
  tooManyParams: 'Too many parameters (the limit is 1000)',
  // an unknown responsetype, listing the three types WHMCS documents (developers.whmcs.com/api/response-types/)
  unsupportedResponseType: (t: string) =>
    `Unsupported API response type format "${t}". Supported formats include: json, xml, nvp`,
  badOverride: "overideautosuspend must be 'on' or 'off'",
  invalidCycle: (c: string) => `Invalid billing cycle ${c}`,
  // panel: AddOrder's configoptions[] and promocode; WHMCS documents no error for them
  badConfigOptions: 'Invalid configoptions: a base64 encoded serialized array is expected',
  badOptionChoice: (option: string, given: string) =>
    `Invalid configoptions: ${option} has no choice ${given}`,
  badOptionQuantity: (option: string, given: string, min: number, max: number) =>
    `Invalid configoptions: ${option} takes a quantity from ${min}${max > 0 ? ` to ${max}` : ''}, not ${given}`,
  promoNotFound: 'The promotion code entered does not exist',
  promoNotStarted: 'The promotion code entered is not valid yet',
  promoExpired: 'The promotion code entered has expired',
  promoUsedUp: 'The promotion code entered has reached its maximum number of uses',
  promoNotApplicable: 'The promotion code entered does not apply to any item in this order',
  integerRequired: (name: string) => `Invalid ${name}: a whole number is required`,
  clientEmailExists: 'A client already exists with that email address',
  invalidCountry: 'Invalid country: a 2 letter ISO code is required',
  invalidCurrency: 'Invalid currency ID',
  invalidPricing: (key: string) =>
    `Invalid pricing[${key}]: pricing[currency id][cycle] with an existing currency and one of msetupfee, monthly, qsetupfee, quarterly, ssetupfee, semiannually, asetupfee, annually, bsetupfee, biennially, tsetupfee, triennially`,
  orderNotPending: 'Order ID not found or Status not Pending',
  clientClosed: 'Unable to add order when client status is Closed',
  invalidPaymentMethod: (valid: readonly string[]) =>
    `Invalid Payment Method. Valid options include ${valid.join(',')}`,
  noOrderItems: 'No items added to cart so order cannot proceed',
  expectingArray: (name: string) => `Expecting parameter '${name}' to be an array`,
  productNotFound: (id: string) => `Product ID Not Found: ${id}`,
  noPrice: (product: string, cycle: string, currency: string) =>
    `${product} has no ${cycle} price in ${currency}: give priceoverride[] or another billingcycle[]`,
  serverNotFound: 'Server ID Not Found',
  internal: 'An unexpected error occurred',
} as const;
