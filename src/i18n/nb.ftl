# hookd — norsk bokmål. Same message ids and variables as en.ftl (the reference; its header
# says which Fluent constructs may be used). Address as in Norwegian software: imperatives and
# "du"; quotation marks «…»; stor forbokstav after a colon when a full sentence follows.
# Terms, one per concept: webhook (en webhook, webhooken, webhooker, webhookene), hendelse
# (event), levering/levere (delivery/deliver), forsøk/leveringsforsøk (attempt), konto
# (account), token (et token, tokenet), portallenke (portal link), holde tilbake/tilbakeholdt
# (buffer/buffered), sende på nytt (resend, replay), forkaste (discard, drop), aktivere,
# deaktivere, reaktivere (activate, deactivate, reactivate), slått på/slått av
# (enabled/disabled), fjerne (remove), slette (delete), trekke tilbake (revoke), utløpe
# (expire), mottaker (receiver), endepunkt (endpoint).

## Shared by hookd and the admin page

field-name = Navn
field-url = URL
field-events = Hendelser
field-status = Status

reason-gone = Endepunktet svarte med 410 Gone
reason-failures = { $count ->
    [one] { $count } mislykket leveringsforsøk siden { $since }; siste feil: { $error }
   *[other] { $count } mislykkede leveringsforsøk på rad siden { $since }; siste feil: { $error }
}

## Dates written by hookd

date-long = { $day }. { $month } { $year } kl. { $time } UTC
date-month = { $month ->
    [1] januar
    [2] februar
    [3] mars
    [4] april
    [5] mai
    [6] juni
    [7] juli
    [8] august
    [9] september
    [10] oktober
    [11] november
   *[12] desember
}

## Notifications

notification-deactivated = Webhooken «{ $name }» ({ $url }) ble deaktivert: { $reason }. Hendelsene holdes tilbake og oppbevares til { $until }.
notification-failing = { $count ->
    [one] Webhooken «{ $name }» ({ $url }) feiler: ett mislykket leveringsforsøk siden { $since }; siste feil: { $error }. Hvis den fortsetter å feile, blir den deaktivert, og hendelsene holdes tilbake.
   *[other] Webhooken «{ $name }» ({ $url }) feiler: { $count } mislykkede leveringsforsøk på rad siden { $since }; siste feil: { $error }. Hvis den fortsetter å feile, blir den deaktivert, og hendelsene holdes tilbake.
}

## Activation pages

activation-title = Reaktiver webhook
activation-deactivated = Deaktivert
activation-reason = Årsak
activation-buffered = Tilbakeholdte hendelser
activation-replay = { $count ->
    [one] Reaktiver og lever den tilbakeholdte hendelsen
   *[other] Reaktiver og lever de { $count } tilbakeholdte hendelsene
}
activation-drop = { $count ->
    [one] Reaktiver og forkast den tilbakeholdte hendelsen
   *[other] Reaktiver og forkast de { $count } tilbakeholdte hendelsene
}
activation-reactivate = Reaktiver
activation-done-title = Webhooken er reaktivert
activation-done-replayed = { $count ->
    [0] Webhooken «{ $name }» er aktiv igjen. Det var ingen tilbakeholdte hendelser.
    [one] Webhooken «{ $name }» er aktiv igjen. Den tilbakeholdte hendelsen blir levert.
   *[other] Webhooken «{ $name }» er aktiv igjen. De { $count } tilbakeholdte hendelsene blir levert, de eldste først.
}
activation-done-dropped = { $count ->
    [0] Webhooken «{ $name }» er aktiv igjen. Det var ingen tilbakeholdte hendelser.
    [one] Webhooken «{ $name }» er aktiv igjen. Den tilbakeholdte hendelsen er forkastet.
   *[other] Webhooken «{ $name }» er aktiv igjen. De { $count } tilbakeholdte hendelsene er forkastet.
}
activation-invalid-title = Lenken er ugyldig
activation-invalid-text = Denne reaktiveringslenken er ugyldig: Den kan ha blitt endret, eller webhooken er slettet.
activation-gone-title = Lenken er ikke lenger gyldig
activation-gone-text = Enten er denne reaktiveringslenken allerede brukt, webhooken er reaktivert på en annen måte, eller lenken er utløpt fordi de tilbakeholdte hendelsene ikke lenger oppbevares.

## Webhook and delivery states, attempt outcomes

status-active = aktiv
status-deactivated = deaktivert
status-disabled = slått av
delivery-pending = venter
delivery-succeeded = levert
delivery-failed = mislykket
delivery-buffered = tilbakeholdt
delivery-expired = utløpt
delivery-cancelled = avbrutt
outcome-success = vellykket
outcome-http-error = HTTP-feil
outcome-timeout = tidsavbrudd
outcome-connect-error = tilkoblingsfeil
outcome-tls-error = TLS-feil
outcome-dns-error = DNS-feil
outcome-blocked = blokkert
outcome-invalid-response = ugyldig svar
outcome-auth-error = autentiseringsfeil
outcome-template-error = malfeil

## Problem titles

problem-validation-error = Valideringen mislyktes
problem-unauthorized = Ikke autentisert
problem-forbidden = Ingen tilgang
problem-not-found = Ikke funnet
problem-method-not-allowed = Metoden er ikke tillatt
problem-version-conflict = Versjonskonflikt
problem-conflict = Konflikt
problem-payload-too-large = Forespørselen er for stor
problem-unsupported-media-type = Medietypen støttes ikke
problem-rate-limited = For mange forespørsler
problem-internal = Intern feil

## The admin page

admin-title = hookd – administrasjon
admin-language = Språk
admin-sign-out = Logg ut
admin-sign-in-title = Logg inn
admin-token = Token
admin-sign-in = Logg inn
admin-token-hint = Administratortokenet eller et kontotoken ({ $example }). Det lagres bare i denne nettleserfanen til du logger ut eller lukker fanen.
admin-signed-in-admin = Logget inn som administrator
admin-signed-in-account = Logget inn med et kontotoken
admin-current-account = konto { $name } ({ $id })
admin-token-expired = Tokenet godtas ikke lenger. Logg inn på nytt.
admin-network-error = Nettverksfeil
admin-network-error-detail = Får ikke kontakt med hookd ({ $error }).
admin-error = Feil
admin-account-title = Konto
admin-choose-account = Velg en konto
admin-open = Åpne
admin-account-id = Konto-ID
admin-account-id-hint = Dette tokenet hører til én bestemt konto: Skriv inn ID-en til kontoen.
admin-webhooks-title = Webhooker
admin-webhooks-of = Webhooker for { $account }
admin-create-webhook = Opprett ny webhook
admin-reload = Last inn på nytt
admin-failures = Feil
admin-actions = Handlinger
admin-actions-for = Handlinger for { $webhook }
admin-no-webhooks = Ingen webhooker ennå.
admin-update = Rediger
admin-remove = Fjern
admin-send-test = Send testhendelse
admin-delivery-log = Leveringslogg
admin-deliver-buffered = lever tilbakeholdte hendelser
admin-activate = Aktiver
admin-form-create = Opprett ny webhook
admin-form-update = Rediger webhook
admin-enabled = Slått på
admin-account = Konto
admin-events-hint = Hendelser (skilt med komma eller linjeskift)
admin-version = Versjon { $version }
admin-save = Lagre
admin-cancel = Avbryt
admin-auth = Autentisering
admin-auth-none = Ingen
admin-auth-basic = Basic (brukernavn og passord)
admin-auth-bearer = Bearer-token
admin-auth-oauth2 = OAuth 2.0 (client credentials)
admin-auth-mtls = Klientsertifikat (mTLS)
admin-auth-username = Brukernavn
admin-auth-password = Passord
admin-auth-token = Token
admin-auth-token-url = Token-URL
admin-auth-client-id = Klient-ID
admin-auth-client-secret = Klienthemmelighet
admin-auth-scope = Scope (valgfritt)
admin-auth-audience = Audience (valgfritt)
admin-auth-certificate = Sertifikat (PEM)
admin-auth-private-key = Privat nøkkel (PEM)
admin-unchanged = (uendret)
admin-certificate-facts = Lagret sertifikat: { $subject }, gyldig til { $date }.
admin-filter = Filter (CEL-uttrykk, valgfritt)
admin-template = Innhold
admin-template-none = Standardkonvolutt
admin-template-slack = Slack-melding
admin-template-discord = Discord-melding
admin-template-body = Egen mal (Jinja)
admin-template-body-text = Mal
admin-template-content-type = Innholdstype
admin-signature = Signaturer
admin-signature-v1 = v1 (HMAC med hemmeligheten)
admin-signature-v1a = v1a (Ed25519 med den offentlige nøkkelen)
admin-signature-v1-v1a = v1 og v1a
admin-saved = «{ $name }» er lagret (versjon { $version }).
admin-created = «{ $name }» er opprettet.
admin-version-conflict = Noen andre har endret denne webhooken i mellomtiden (nå versjon { $version }). Last inn på nytt og prøv igjen.
admin-confirm-remove = Vil du fjerne webhooken «{ $name }»? Ventende leveringer blir avbrutt.
admin-removed = «{ $name }» er fjernet.
admin-activated-replayed = { $count ->
    [0] «{ $name }» er aktivert; det var ingen tilbakeholdte hendelser.
    [one] «{ $name }» er aktivert: { $count } tilbakeholdt hendelse blir levert.
   *[other] «{ $name }» er aktivert: { $count } tilbakeholdte hendelser blir levert.
}
admin-activated-dropped = { $count ->
    [0] «{ $name }» er aktivert; det var ingen tilbakeholdte hendelser.
    [one] «{ $name }» er aktivert: { $count } tilbakeholdt hendelse er forkastet.
   *[other] «{ $name }» er aktivert: { $count } tilbakeholdte hendelser er forkastet.
}
admin-test-sent = En testhendelse er sendt til «{ $name }».
admin-test-body = Sendt innhold ({ $type }):
admin-test-waiting = Venter på mottakerens svar…
admin-test-answer = Mottakerens svar:
admin-log-title = Leveringslogg
admin-log-of = Leveringslogg for { $webhook }
admin-refresh = Oppdater
admin-close = Lukk
admin-loading = Laster inn…
admin-no-deliveries = Ingen leveringer ennå.
admin-created-column = Opprettet
admin-event = Hendelse
admin-attempts = Forsøk
admin-attempt = Forsøk { $number }
admin-no-attempt = ingen forsøk ennå
admin-next-attempt = neste forsøk { $date }
admin-duration = { $ms } ms

## The admin page: portal links, portal mode, replay, health, activating with buffered events

admin-portal-link = Portallenke
admin-portal-link-for = Portallenke for { $account }
portal-link-title = Ny portallenke for { $account }
portal-link-expires = Gyldig i
portal-link-1h = 1 time
portal-link-1d = 1 døgn
portal-link-7d = 7 dager
portal-link-read-only = Bare lesetilgang (kan se, men ikke endre noe)
portal-link-create = Opprett lenke
portal-link-url = Lenke
portal-link-copy = Kopier
portal-link-copied = Kopiert.
portal-link-copy-by-hand = Lenken er markert: Kopier den med Ctrl+C (⌘C på Mac).
portal-link-made = Alle som åpner denne lenken, kan administrere webhookene til denne kontoen fram til { $date }. Lenken vises bare nå: Kopier den før du lukker dette skjemaet.
portal-link-made-read-only = Alle som åpner denne lenken, kan se webhookene til denne kontoen, med leveringslogger og helsestatus, fram til { $date }, men ikke endre noe. Lenken vises bare nå: Kopier den før du lukker dette skjemaet.
portal-title = { $account } – hookd
portal-who = Portal for { $account }
portal-read-only = bare lesetilgang
portal-until = gyldig til { $date }
portal-ended-title = Denne portallenken virker ikke lenger
portal-ended-text = Den er utløpt eller har blitt trukket tilbake. Be om en ny lenke.
admin-replay = Send mislykkede leveringer på nytt fra …
replay-title = Send leveringer til { $webhook } på nytt
replay-since = Fra
replay-statuses = Leveringer med status
replay-hint = Hver levering får nå en ny serie med forsøk, de eldste først.
replay-submit = Send på nytt
replay-no-since = Angi dato og klokkeslett det skal sendes på nytt fra.
replay-no-status = Velg minst én status.
replay-scheduled = { $count ->
    [0] Ingenting å sende på nytt til «{ $webhook }»: Ingen leveringer passet til utvalget.
    [one] { $count } levering til «{ $webhook }» blir sendt på nytt.
   *[other] { $count } leveringer til «{ $webhook }» blir sendt på nytt.
}
admin-health = Siste 24 timer
health-no-attempts = Ingen forsøk de siste 24 timene
health-unavailable = ikke tilgjengelig
health-rate = { $rate } vellykket
health-p95 = p95 { $ms } ms
health-summary = Siste 24 timer: { $attempts } forsøk (vellykket: { $succeeded }, mislykket: { $failed })
admin-buffered = { $count ->
    [one] { $count } tilbakeholdt hendelse
   *[other] { $count } tilbakeholdte hendelser
}
admin-buffered-many = { $count } eller flere tilbakeholdte hendelser
admin-deliver-buffered-count = { $count ->
    [one] lever den tilbakeholdte hendelsen
   *[other] lever de { $count } tilbakeholdte hendelsene
}
admin-deliver-buffered-many = lever alle tilbakeholdte hendelser ({ $count } eller flere)
admin-confirm-drop = { $count ->
    [one] Vil du aktivere «{ $name }» uten den tilbakeholdte hendelsen? Hendelsen blir forkastet.
   *[other] Vil du aktivere «{ $name }» uten de tilbakeholdte hendelsene? De { $count } hendelsene blir forkastet.
}
admin-confirm-drop-many = Vil du aktivere «{ $name }» uten de tilbakeholdte hendelsene? Alle ({ $count } eller flere) blir forkastet.
admin-confirm-drop-unknown = Vil du aktivere «{ $name }» uten de tilbakeholdte hendelsene? De blir forkastet.

## Portal link pages (GET /portal/… for a link that does not work)

portal-invalid-title = Lenken er ugyldig
portal-invalid-text = Denne portallenken er ugyldig. Kontroller at du har kopiert hele lenken, eller be om en ny.
portal-expired-title = Lenken er utløpt
portal-expired-text = Denne portallenken er utløpt. Be om en ny.
portal-revoked-title = Lenken er trukket tilbake
portal-revoked-text = Denne portallenken er trukket tilbake. Be om en ny.
