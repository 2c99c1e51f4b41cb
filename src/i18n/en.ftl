# hookd — English. The reference catalog: every other catalog (de, da, nb, pt) has exactly
# the same message ids and uses the same variables in each message.
#
# hookd formats these messages with Project Fluent (the activation pages, notification
# messages and dates), and the admin page formats the same files in the browser with its own
# small formatter (src/admin/app.js). Both sides understand exactly this subset of Fluent, and
# a unit test (src/i18n/catalog.rs) refuses anything else:
#
#   - Comment lines starting with `#`, and blank lines.
#   - Messages `message-id = text`, the text on one line. Text is plain: no HTML.
#   - Placeables `{ $variable }`.
#   - A select expression on a number, as the whole value of a message:
#
#         message-id = { $count ->
#             [0] text for exactly zero
#             [one] text for the plural category "one"
#            *[other] text for every other number
#         }
#
#     One variant a line; exact numbers (`[0]`, `[12]`) and the CLDR plural categories
#     (`zero`, `one`, `two`, `few`, `many`, `other`) as keys; exactly one default variant,
#     marked `*`. The first variant that matches wins, so exact numbers come first.
#     Variants may hold placeables, never another select. The plural rules are CLDR's for
#     the language (Portuguese: European Portuguese, pt-PT).
#
# Not used: attributes, terms, message references, functions, string literals, multiline
# text. Typographic quotation marks are part of the text (“…” in English).

## Shared by hookd and the admin page

field-name = Name
field-url = URL
field-events = Events
field-status = Status

# Why a webhook was deactivated (in notifications, on the activation page and the admin page).
# $since is a date; $error is the technical text of the last failure, quoted as it is
# (e.g. "HTTP 500 Internal Server Error"), so it stays untranslated.
reason-gone = the endpoint answered 410 Gone
reason-failures = { $count ->
    [one] { $count } failed attempt since { $since }; last error: { $error }
   *[other] { $count } failed attempts in a row since { $since }; last error: { $error }
}

## Dates written by hookd (activation pages, notifications); the admin page uses the
## browser's date formatting instead.

# $day and $year are digits, $month the month's name from date-month, $time hours:minutes.
date-long = { $day } { $month } { $year }, { $time } UTC
date-month = { $month ->
    [1] January
    [2] February
    [3] March
    [4] April
    [5] May
    [6] June
    [7] July
    [8] August
    [9] September
    [10] October
    [11] November
   *[12] December
}

## Notifications (the `message` of a notification)

# $name and $url are the webhook's; $reason is reason-gone or reason-failures; $until a date.
notification-deactivated = The webhook “{ $name }” ({ $url }) was deactivated: { $reason }. Its events are buffered until { $until }.
notification-failing = { $count ->
    [one] Deliveries to the webhook “{ $name }” ({ $url }) are failing: one failed attempt since { $since }; error: { $error }. If it keeps failing, it will be deactivated and its events buffered.
   *[other] Deliveries to the webhook “{ $name }” ({ $url }) are failing: { $count } failed attempts in a row since { $since }; last error: { $error }. If it keeps failing, it will be deactivated and its events buffered.
}

## Activation pages (GET and POST /activate/…)

activation-title = Reactivate webhook
activation-deactivated = Deactivated
activation-reason = Reason
activation-buffered = Buffered events
activation-replay = { $count ->
    [one] Reactivate and deliver the buffered event
   *[other] Reactivate and deliver the { $count } buffered events
}
activation-drop = { $count ->
    [one] Reactivate and discard the buffered event
   *[other] Reactivate and discard the { $count } buffered events
}
activation-reactivate = Reactivate
activation-done-title = Webhook reactivated
activation-done-replayed = { $count ->
    [0] The webhook “{ $name }” is active again. No events were buffered.
    [one] The webhook “{ $name }” is active again. The buffered event will be delivered.
   *[other] The webhook “{ $name }” is active again. The { $count } buffered events will be delivered, oldest first.
}
activation-done-dropped = { $count ->
    [0] The webhook “{ $name }” is active again. No events were buffered.
    [one] The webhook “{ $name }” is active again. The buffered event was discarded.
   *[other] The webhook “{ $name }” is active again. The { $count } buffered events were discarded.
}
activation-invalid-title = Link not valid
activation-invalid-text = This reactivation link is not valid: it may have been altered, or its webhook was deleted.
activation-gone-title = Link no longer valid
activation-gone-text = This reactivation link has already been used, the webhook was reactivated another way, or the link expired because the buffered events are no longer kept.

## Webhook and delivery states, attempt outcomes (the API's values, shown in the admin page)

status-active = active
status-deactivated = deactivated
status-disabled = disabled
delivery-pending = pending
delivery-succeeded = succeeded
delivery-failed = failed
delivery-buffered = buffered
delivery-expired = expired
delivery-cancelled = cancelled
outcome-success = success
outcome-http-error = HTTP error
outcome-timeout = timeout
outcome-connect-error = connection error
outcome-tls-error = TLS error
outcome-dns-error = DNS error
outcome-blocked = blocked
outcome-invalid-response = invalid response
outcome-auth-error = authentication error
outcome-template-error = template error

## Problem titles by problem type (the API's `detail` and field messages stay as sent)

problem-validation-error = Validation failed
problem-unauthorized = Unauthorized
problem-forbidden = Forbidden
problem-not-found = Not found
problem-method-not-allowed = Method not allowed
problem-version-conflict = Version conflict
problem-conflict = Conflict
problem-payload-too-large = Payload too large
problem-unsupported-media-type = Unsupported media type
problem-rate-limited = Too many requests
problem-internal = Internal error

## The admin page

admin-title = hookd admin
admin-language = Language
admin-sign-out = Sign out
admin-sign-in-title = Sign in
admin-token = Token
admin-sign-in = Sign in
# $example is the token prefix, shown as code: "hkd_…".
admin-token-hint = The admin token, or an account token ({ $example }). It is kept in this browser tab only, until you sign out or close the tab.
admin-signed-in-admin = Signed in as admin
admin-signed-in-account = Signed in with an account token
admin-current-account = account { $name } ({ $id })
admin-token-expired = The token is no longer accepted. Sign in again.
admin-network-error = Network error
admin-network-error-detail = hookd could not be reached ({ $error }).
admin-error = Error
admin-account-title = Account
admin-choose-account = Choose an account
admin-open = Open
admin-account-id = Account id
admin-account-id-hint = This token belongs to one account: enter its id.
admin-webhooks-title = Webhooks
admin-webhooks-of = Webhooks of { $account }
admin-create-webhook = Create new webhook
admin-reload = Reload
admin-failures = Failures
admin-actions = Actions
admin-actions-for = Actions for { $webhook }
admin-no-webhooks = No webhooks yet.
admin-update = Update
admin-remove = Remove
admin-send-test = Send test event
admin-delivery-log = Delivery log
admin-deliver-buffered = deliver buffered events
admin-activate = Activate
admin-form-create = Create new webhook
admin-form-update = Update webhook
admin-enabled = Enabled
admin-account = Account
admin-events-hint = Events (comma- or line-separated)
admin-version = Version { $version }
admin-save = Save
admin-cancel = Cancel
admin-auth = Authentication
admin-auth-none = None
admin-auth-basic = Basic (user name and password)
admin-auth-bearer = Bearer token
admin-auth-oauth2 = OAuth 2.0 client credentials
admin-auth-mtls = Client certificate (mTLS)
admin-auth-username = User name
admin-auth-password = Password
admin-auth-token = Token
admin-auth-token-url = Token URL
admin-auth-client-id = Client ID
admin-auth-client-secret = Client secret
admin-auth-scope = Scope (optional)
admin-auth-audience = Audience (optional)
admin-auth-certificate = Certificate (PEM)
admin-auth-private-key = Private key (PEM)
admin-unchanged = (unchanged)
admin-certificate-facts = Stored certificate: { $subject }, valid until { $date }.
admin-filter = Filter (CEL expression, optional)
admin-template = Body
admin-template-none = Standard envelope
admin-template-slack = Slack message
admin-template-discord = Discord message
admin-template-body = Own template (Jinja)
admin-template-body-text = Template
admin-template-content-type = Content type
admin-signature = Signatures
admin-signature-v1 = v1 (HMAC with the secret)
admin-signature-v1a = v1a (Ed25519 with the public key)
admin-signature-v1-v1a = v1 and v1a
admin-saved = Saved “{ $name }” (version { $version }).
admin-created = Created “{ $name }”.
admin-version-conflict = Someone else changed this webhook (now version { $version }). Reload and try again.
admin-confirm-remove = Remove the webhook “{ $name }”? Its pending deliveries are cancelled.
admin-removed = Removed “{ $name }”.
admin-activated-replayed = { $count ->
    [0] Activated “{ $name }”; no events were buffered.
    [one] Activated “{ $name }”: { $count } buffered event is being delivered.
   *[other] Activated “{ $name }”: { $count } buffered events are being delivered.
}
admin-activated-dropped = { $count ->
    [0] Activated “{ $name }”; no events were buffered.
    [one] Activated “{ $name }”: { $count } buffered event was discarded.
   *[other] Activated “{ $name }”: { $count } buffered events were discarded.
}
admin-test-sent = Sent a test event to “{ $name }”.
admin-test-body = Body sent ({ $type }):
admin-test-waiting = Waiting for the receiver’s answer…
admin-test-answer = The receiver’s answer:
admin-log-title = Delivery log
admin-log-of = Delivery log of { $webhook }
admin-refresh = Refresh
admin-close = Close
admin-loading = Loading…
admin-no-deliveries = No deliveries yet.
admin-created-column = Created
admin-event = Event
admin-attempts = Attempts
admin-attempt = Attempt { $number }
admin-no-attempt = no attempt yet
admin-next-attempt = next attempt { $date }
# $ms is a formatted number of milliseconds.
admin-duration = { $ms } ms

## The admin page: portal links, portal mode, replay, health, activating with buffered events

admin-portal-link = Portal link
admin-portal-link-for = Portal link for { $account }
portal-link-title = New portal link for { $account }
portal-link-expires = Valid for
portal-link-1h = 1 hour
portal-link-1d = 1 day
portal-link-7d = 7 days
portal-link-read-only = Read only (can look, but change nothing)
portal-link-create = Create link
portal-link-url = Link
portal-link-copy = Copy
portal-link-copied = Copied.
portal-link-copy-by-hand = The link is selected: copy it with Ctrl+C (⌘C on a Mac).
# $date is when the link expires.
portal-link-made = Whoever opens this link can manage this account's webhooks until { $date }. It is shown only now: copy it before you close this form.
portal-link-made-read-only = Whoever opens this link can see this account's webhooks, delivery logs and health until { $date }, but change nothing. It is shown only now: copy it before you close this form.
# The browser tab's title in the portal.
portal-title = { $account } – hookd
portal-who = Portal for { $account }
portal-read-only = read only
portal-until = valid until { $date }
portal-ended-title = This portal link no longer works
portal-ended-text = It has expired or has been revoked. Ask for a new link.
admin-replay = Resend failed deliveries since …
replay-title = Resend deliveries of { $webhook }
replay-since = Since
# Followed by one checkbox per delivery status (delivery-failed, delivery-expired, …).
replay-statuses = Deliveries with the status
replay-hint = Each delivery gets a fresh series of attempts now, oldest first.
replay-submit = Resend
replay-no-since = Enter the date and time to resend from.
replay-no-status = Choose at least one status.
replay-scheduled = { $count ->
    [0] Nothing to resend for “{ $webhook }”: no delivery matched.
    [one] { $count } delivery scheduled for “{ $webhook }”.
   *[other] { $count } deliveries scheduled for “{ $webhook }”.
}
admin-health = Last 24 hours
health-no-attempts = No attempts in the last 24 hours
health-unavailable = not available
# $rate is a formatted percentage: the share of attempts that succeeded.
health-rate = { $rate } succeeded
# $ms is a formatted number of milliseconds: 95% of the responses came at least this fast.
health-p95 = p95 { $ms } ms
health-summary = { $attempts ->
    [one] Last 24 hours: { $attempts } attempt, { $succeeded } succeeded, { $failed } failed
   *[other] Last 24 hours: { $attempts } attempts, { $succeeded } succeeded, { $failed } failed
}
admin-buffered = { $count ->
    [one] { $count } buffered event
   *[other] { $count } buffered events
}
# Where there are too many to count: $count is the number counted (1,000).
admin-buffered-many = { $count } or more buffered events
admin-deliver-buffered-count = { $count ->
    [one] deliver the buffered event
   *[other] deliver the { $count } buffered events
}
admin-deliver-buffered-many = deliver all buffered events ({ $count } or more)
admin-confirm-drop = { $count ->
    [one] Activate “{ $name }” without its buffered event? The event will be dropped.
   *[other] Activate “{ $name }” without its buffered events? The { $count } events will be dropped.
}
admin-confirm-drop-many = Activate “{ $name }” without its buffered events? All of them ({ $count } or more) will be dropped.
admin-confirm-drop-unknown = Activate “{ $name }” without its buffered events? They will be dropped.

## Portal link pages (GET /portal/… for a link that does not work)

portal-invalid-title = Link not valid
portal-invalid-text = This portal link is not valid. Check that you copied the whole link, or ask for a new one.
portal-expired-title = Link expired
portal-expired-text = This portal link has expired. Ask for a new one.
portal-revoked-title = Link revoked
portal-revoked-text = This portal link has been revoked. Ask for a new one.
