# hookd — dansk. Same message ids and variables as en.ftl (the reference; its header says
# which Fluent constructs may be used). Address as in Danish software: imperatives and "du";
# quotation marks »…«.
# Terms, one word per concept: webhook (en webhook, webhooken, webhooks), hændelse (event),
# levering (delivery), leveringsforsøg/forsøg (attempt), konto (account), token (et token,
# tokenet), portallink (portal link), tilbageholde/tilbageholdt (buffer/buffered), gensende
# (resend/replay), levere (deliver), kassere (discard/drop), deaktivere/genaktivere
# (deactivate; activate and reactivate, which are the same action), slået til/fra (enabled/disabled).

## Shared by hookd and the admin page

field-name = Navn
field-url = URL
field-events = Hændelser
field-status = Status

reason-gone = endepunktet svarede med 410 Gone
reason-failures = { $count ->
    [one] { $count } mislykket leveringsforsøg siden { $since }; seneste fejl: { $error }
   *[other] { $count } mislykkede leveringsforsøg i træk siden { $since }; seneste fejl: { $error }
}

## Dates written by hookd

date-long = { $day }. { $month } { $year } kl. { $time } UTC
date-month = { $month ->
    [1] januar
    [2] februar
    [3] marts
    [4] april
    [5] maj
    [6] juni
    [7] juli
    [8] august
    [9] september
    [10] oktober
    [11] november
   *[12] december
}

## Notifications

notification-deactivated = Webhooken »{ $name }« ({ $url }) er blevet deaktiveret: { $reason }. Dens hændelser tilbageholdes indtil { $until }.
notification-failing = { $count ->
    [one] Webhooken »{ $name }« ({ $url }) fejler: ét mislykket leveringsforsøg siden { $since }; seneste fejl: { $error }. Hvis den bliver ved med at fejle, deaktiveres den, og dens hændelser tilbageholdes.
   *[other] Webhooken »{ $name }« ({ $url }) fejler: { $count } mislykkede leveringsforsøg i træk siden { $since }; seneste fejl: { $error }. Hvis den bliver ved med at fejle, deaktiveres den, og dens hændelser tilbageholdes.
}

## Activation pages

activation-title = Genaktivér webhook
activation-deactivated = Deaktiveret
activation-reason = Årsag
activation-buffered = Tilbageholdte hændelser
activation-replay = { $count ->
    [one] Genaktivér og levér den tilbageholdte hændelse
   *[other] Genaktivér og levér de { $count } tilbageholdte hændelser
}
activation-drop = { $count ->
    [one] Genaktivér og kassér den tilbageholdte hændelse
   *[other] Genaktivér og kassér de { $count } tilbageholdte hændelser
}
activation-reactivate = Genaktivér
activation-done-title = Webhooken er genaktiveret
activation-done-replayed = { $count ->
    [0] Webhooken »{ $name }« er aktiv igen. Der var ingen tilbageholdte hændelser.
    [one] Webhooken »{ $name }« er aktiv igen. Den tilbageholdte hændelse bliver leveret.
   *[other] Webhooken »{ $name }« er aktiv igen. De { $count } tilbageholdte hændelser bliver leveret, de ældste først.
}
activation-done-dropped = { $count ->
    [0] Webhooken »{ $name }« er aktiv igen. Der var ingen tilbageholdte hændelser.
    [one] Webhooken »{ $name }« er aktiv igen. Den tilbageholdte hændelse er blevet kasseret.
   *[other] Webhooken »{ $name }« er aktiv igen. De { $count } tilbageholdte hændelser er blevet kasseret.
}
activation-invalid-title = Linket er ugyldigt
activation-invalid-text = Dette genaktiveringslink er ugyldigt: Det kan være blevet ændret, eller webhooken er blevet slettet.
activation-gone-title = Linket er ikke længere gyldigt
activation-gone-text = Dette genaktiveringslink er allerede blevet brugt, webhooken er blevet genaktiveret på anden måde, eller linket er udløbet, fordi de tilbageholdte hændelser ikke længere opbevares.

## Webhook and delivery states, attempt outcomes

status-active = aktiv
status-deactivated = deaktiveret
status-disabled = slået fra
delivery-pending = afventer
delivery-succeeded = leveret
delivery-failed = mislykket
delivery-buffered = tilbageholdt
delivery-expired = udløbet
delivery-cancelled = annulleret
outcome-success = vellykket
outcome-http-error = HTTP-fejl
outcome-timeout = timeout
outcome-connect-error = forbindelsesfejl
outcome-tls-error = TLS-fejl
outcome-dns-error = DNS-fejl
outcome-blocked = blokeret
outcome-invalid-response = ugyldigt svar
outcome-auth-error = godkendelsesfejl
outcome-template-error = skabelonfejl

## Problem titles

problem-validation-error = Valideringen mislykkedes
problem-unauthorized = Ikke godkendt
problem-forbidden = Adgang nægtet
problem-not-found = Ikke fundet
problem-method-not-allowed = Metoden er ikke tilladt
problem-version-conflict = Versionskonflikt
problem-conflict = Konflikt
problem-payload-too-large = Forespørgslen er for stor
problem-unsupported-media-type = Medietypen understøttes ikke
problem-rate-limited = For mange forespørgsler
problem-internal = Intern fejl

## The admin page

admin-title = hookd – administration
admin-language = Sprog
admin-sign-out = Log ud
admin-sign-in-title = Log ind
admin-token = Token
admin-sign-in = Log ind
admin-token-hint = Administratortokenet eller et kontotoken ({ $example }). Det gemmes kun i denne browserfane, indtil du logger ud eller lukker fanen.
admin-signed-in-admin = Logget ind som administrator
admin-signed-in-account = Logget ind med et kontotoken
admin-current-account = konto { $name } ({ $id })
admin-token-expired = Tokenet accepteres ikke længere. Log ind igen.
admin-network-error = Netværksfejl
admin-network-error-detail = Der kunne ikke oprettes forbindelse til hookd ({ $error }).
admin-error = Fejl
admin-account-title = Konto
admin-choose-account = Vælg en konto
admin-open = Åbn
admin-account-id = Konto-id
admin-account-id-hint = Dette token hører til én bestemt konto: Indtast kontoens id.
admin-webhooks-title = Webhooks
admin-webhooks-of = Webhooks for { $account }
admin-create-webhook = Opret ny webhook
admin-reload = Genindlæs
admin-failures = Fejl
admin-actions = Handlinger
admin-actions-for = Handlinger for { $webhook }
admin-no-webhooks = Ingen webhooks endnu.
admin-update = Redigér
admin-remove = Fjern
admin-send-test = Send testhændelse
admin-delivery-log = Leveringslog
admin-deliver-buffered = levér tilbageholdte hændelser
admin-activate = Genaktivér
admin-form-create = Opret ny webhook
admin-form-update = Redigér webhook
admin-enabled = Slået til
admin-account = Konto
admin-events-hint = Hændelser (adskilt med komma eller linjeskift)
admin-version = Version { $version }
admin-save = Gem
admin-cancel = Annullér
admin-auth = Godkendelse
admin-auth-none = Ingen
admin-auth-basic = Basic (brugernavn og adgangskode)
admin-auth-bearer = Bearer-token
admin-auth-oauth2 = OAuth 2.0 (client credentials)
admin-auth-mtls = Klientcertifikat (mTLS)
admin-auth-username = Brugernavn
admin-auth-password = Adgangskode
admin-auth-token = Token
admin-auth-token-url = Token-URL
admin-auth-client-id = Klient-id
admin-auth-client-secret = Klienthemmelighed
admin-auth-scope = Scope (valgfrit)
admin-auth-audience = Audience (valgfrit)
admin-auth-certificate = Certifikat (PEM)
admin-auth-private-key = Privat nøgle (PEM)
admin-unchanged = (uændret)
admin-certificate-facts = Gemt certifikat: { $subject }, gyldigt indtil { $date }.
admin-filter = Filter (CEL-udtryk, valgfrit)
admin-template = Indhold
admin-template-none = Standardkuvert
admin-template-slack = Slack-besked
admin-template-discord = Discord-besked
admin-template-body = Egen skabelon (Jinja)
admin-template-body-text = Skabelon
admin-template-content-type = Indholdstype
admin-signature = Signaturer
admin-signature-v1 = v1 (HMAC med hemmeligheden)
admin-signature-v1a = v1a (Ed25519 med den offentlige nøgle)
admin-signature-v1-v1a = v1 og v1a
admin-saved = »{ $name }« er gemt (version { $version }).
admin-created = »{ $name }« er oprettet.
admin-version-conflict = En anden har ændret denne webhook i mellemtiden (nu version { $version }). Genindlæs, og prøv igen.
admin-confirm-remove = Vil du fjerne webhooken »{ $name }«? Dens ventende leveringer annulleres.
admin-removed = »{ $name }« er fjernet.
admin-activated-replayed = { $count ->
    [0] »{ $name }« er genaktiveret; der var ingen tilbageholdte hændelser.
    [one] »{ $name }« er genaktiveret: { $count } tilbageholdt hændelse bliver leveret.
   *[other] »{ $name }« er genaktiveret: { $count } tilbageholdte hændelser bliver leveret.
}
admin-activated-dropped = { $count ->
    [0] »{ $name }« er genaktiveret; der var ingen tilbageholdte hændelser.
    [one] »{ $name }« er genaktiveret: { $count } tilbageholdt hændelse er blevet kasseret.
   *[other] »{ $name }« er genaktiveret: { $count } tilbageholdte hændelser er blevet kasseret.
}
admin-test-sent = Der er sendt en testhændelse til »{ $name }«.
admin-test-body = Sendt indhold ({ $type }):
admin-test-waiting = Venter på modtagerens svar…
admin-test-answer = Modtagerens svar:
admin-log-title = Leveringslog
admin-log-of = Leveringslog for { $webhook }
admin-refresh = Opdatér
admin-close = Luk
admin-loading = Indlæser…
admin-no-deliveries = Ingen leveringer endnu.
admin-created-column = Oprettet
admin-event = Hændelse
admin-attempts = Forsøg
admin-attempt = Forsøg { $number }
admin-no-attempt = intet forsøg endnu
admin-next-attempt = næste forsøg { $date }
admin-duration = { $ms } ms

## The admin page: portal links, portal mode, replay, health, activating with buffered events

admin-portal-link = Portallink
admin-portal-link-for = Portallink til { $account }
portal-link-title = Nyt portallink til { $account }
portal-link-expires = Gyldigt i
portal-link-1h = 1 time
portal-link-1d = 1 døgn
portal-link-7d = 7 dage
portal-link-read-only = Kun læseadgang (kan se, men ikke ændre noget)
portal-link-create = Opret link
portal-link-url = Link
portal-link-copy = Kopiér
portal-link-copied = Kopieret.
portal-link-copy-by-hand = Linket er markeret: Kopiér det med Ctrl+C (⌘C på Mac).
portal-link-made = Alle, der åbner dette link, kan administrere kontoens webhooks indtil { $date }. Linket vises kun denne ene gang: Kopiér det, før du lukker formularen.
portal-link-made-read-only = Alle, der åbner dette link, kan se kontoens webhooks, leveringslogs og tilstand indtil { $date }, men ikke ændre noget. Linket vises kun denne ene gang: Kopiér det, før du lukker formularen.
portal-title = { $account } – hookd
portal-who = Portal for { $account }
portal-read-only = kun læseadgang
portal-until = gyldigt indtil { $date }
portal-ended-title = Dette portallink virker ikke længere
portal-ended-text = Det er udløbet eller blevet tilbagekaldt. Bed om et nyt link.
admin-replay = Gensend mislykkede leveringer siden …
replay-title = Gensend leveringer til { $webhook }
replay-since = Siden
replay-statuses = Leveringer med status
replay-hint = Hver levering får nu en ny række forsøg, de ældste først.
replay-submit = Gensend
replay-no-since = Angiv, fra hvilken dato og hvilket klokkeslæt der skal gensendes.
replay-no-status = Vælg mindst én status.
replay-scheduled = { $count ->
    [0] Intet at gensende til »{ $webhook }«: Ingen leveringer opfyldte kriterierne.
    [one] { $count } levering til »{ $webhook }« bliver gensendt.
   *[other] { $count } leveringer til »{ $webhook }« bliver gensendt.
}
admin-health = Seneste 24 timer
health-no-attempts = Ingen forsøg i de seneste 24 timer
health-unavailable = ikke tilgængelig
health-rate = { $rate } lykkedes
health-p95 = p95 { $ms } ms
health-summary = Seneste 24 timer: { $attempts } forsøg, { $succeeded } lykkedes, { $failed } mislykkedes
admin-buffered = { $count ->
    [one] { $count } tilbageholdt hændelse
   *[other] { $count } tilbageholdte hændelser
}
admin-buffered-many = { $count } eller flere tilbageholdte hændelser
admin-deliver-buffered-count = { $count ->
    [one] levér den tilbageholdte hændelse
   *[other] levér de { $count } tilbageholdte hændelser
}
admin-deliver-buffered-many = levér alle tilbageholdte hændelser ({ $count } eller flere)
admin-confirm-drop = { $count ->
    [one] Vil du genaktivere »{ $name }« uden den tilbageholdte hændelse? Hændelsen bliver kasseret.
   *[other] Vil du genaktivere »{ $name }« uden de tilbageholdte hændelser? De { $count } hændelser bliver kasseret.
}
admin-confirm-drop-many = Vil du genaktivere »{ $name }« uden de tilbageholdte hændelser? Alle ({ $count } eller flere) bliver kasseret.
admin-confirm-drop-unknown = Vil du genaktivere »{ $name }« uden de tilbageholdte hændelser? De bliver kasseret.

## Portal link pages (GET /portal/… for a link that does not work)

portal-invalid-title = Linket er ugyldigt
portal-invalid-text = Dette portallink er ugyldigt. Kontrollér, at du har kopieret hele linket, eller bed om et nyt.
portal-expired-title = Linket er udløbet
portal-expired-text = Dette portallink er udløbet. Bed om et nyt.
portal-revoked-title = Linket er tilbagekaldt
portal-revoked-text = Dette portallink er blevet tilbagekaldt. Bed om et nyt.
