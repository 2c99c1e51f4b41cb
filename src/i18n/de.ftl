# hookd — Deutsch. Same message ids and variables as en.ftl (the reference; its header says
# which Fluent constructs may be used). Formal address (Sie); quotation marks „…“.
# Terms, one per concept: Webhook (der), Ereignis (event), Zustellung (delivery),
# Zustellversuch (attempt; „Versuch“ in the delivery log), Konto (account), Token (das),
# Portal-Link, zwischenspeichern (buffer), erneut senden (replay/resend), deaktivieren and
# reaktivieren (deactivate, activate/reactivate), ein-/ausgeschaltet (enabled/disabled),
# verwerfen (discard/drop), erstellen (create).

## Shared by hookd and the admin page

field-name = Name
field-url = URL
field-events = Ereignisse
field-status = Status

reason-gone = der Endpunkt hat mit 410 Gone geantwortet
reason-failures = { $count ->
    [one] { $count } fehlgeschlagener Zustellversuch seit dem { $since }; letzter Fehler: { $error }
   *[other] { $count } fehlgeschlagene Zustellversuche in Folge seit dem { $since }; letzter Fehler: { $error }
}

## Dates written by hookd

date-long = { $day }. { $month } { $year }, { $time } UTC
date-month = { $month ->
    [1] Januar
    [2] Februar
    [3] März
    [4] April
    [5] Mai
    [6] Juni
    [7] Juli
    [8] August
    [9] September
    [10] Oktober
    [11] November
   *[12] Dezember
}

## Notifications

notification-deactivated = Der Webhook „{ $name }“ ({ $url }) wurde deaktiviert: { $reason }. Seine Ereignisse werden bis zum { $until } zwischengespeichert.
notification-failing = { $count ->
    [one] Zustellungen an den Webhook „{ $name }“ ({ $url }) schlagen fehl: ein fehlgeschlagener Zustellversuch seit dem { $since }; letzter Fehler: { $error }. Schlagen sie weiterhin fehl, wird der Webhook deaktiviert und seine Ereignisse werden zwischengespeichert.
   *[other] Zustellungen an den Webhook „{ $name }“ ({ $url }) schlagen fehl: { $count } fehlgeschlagene Zustellversuche in Folge seit dem { $since }; letzter Fehler: { $error }. Schlagen sie weiterhin fehl, wird der Webhook deaktiviert und seine Ereignisse werden zwischengespeichert.
}

## Activation pages

activation-title = Webhook reaktivieren
activation-deactivated = Deaktiviert am
activation-reason = Grund
activation-buffered = Zwischengespeicherte Ereignisse
activation-replay = { $count ->
    [one] Reaktivieren und das zwischengespeicherte Ereignis zustellen
   *[other] Reaktivieren und die { $count } zwischengespeicherten Ereignisse zustellen
}
activation-drop = { $count ->
    [one] Reaktivieren und das zwischengespeicherte Ereignis verwerfen
   *[other] Reaktivieren und die { $count } zwischengespeicherten Ereignisse verwerfen
}
activation-reactivate = Reaktivieren
activation-done-title = Webhook reaktiviert
activation-done-replayed = { $count ->
    [0] Der Webhook „{ $name }“ ist wieder aktiv. Es waren keine Ereignisse zwischengespeichert.
    [one] Der Webhook „{ $name }“ ist wieder aktiv. Das zwischengespeicherte Ereignis wird zugestellt.
   *[other] Der Webhook „{ $name }“ ist wieder aktiv. Die { $count } zwischengespeicherten Ereignisse werden zugestellt, beginnend mit dem ältesten.
}
activation-done-dropped = { $count ->
    [0] Der Webhook „{ $name }“ ist wieder aktiv. Es waren keine Ereignisse zwischengespeichert.
    [one] Der Webhook „{ $name }“ ist wieder aktiv. Das zwischengespeicherte Ereignis wurde verworfen.
   *[other] Der Webhook „{ $name }“ ist wieder aktiv. Die { $count } zwischengespeicherten Ereignisse wurden verworfen.
}
activation-invalid-title = Link ungültig
activation-invalid-text = Dieser Reaktivierungslink ist ungültig: Möglicherweise wurde er verändert oder der zugehörige Webhook wurde gelöscht.
activation-gone-title = Link nicht mehr gültig
activation-gone-text = Dieser Reaktivierungslink wurde bereits verwendet, der Webhook wurde auf anderem Weg reaktiviert oder der Link ist abgelaufen, weil die zwischengespeicherten Ereignisse nicht mehr aufbewahrt werden.

## Webhook and delivery states, attempt outcomes

status-active = aktiv
status-deactivated = deaktiviert
status-disabled = ausgeschaltet
delivery-pending = ausstehend
delivery-succeeded = zugestellt
delivery-failed = fehlgeschlagen
delivery-buffered = zwischengespeichert
delivery-expired = abgelaufen
delivery-cancelled = abgebrochen
outcome-success = Erfolg
outcome-http-error = HTTP-Fehler
outcome-timeout = Zeitüberschreitung
outcome-connect-error = Verbindungsfehler
outcome-tls-error = TLS-Fehler
outcome-dns-error = DNS-Fehler
outcome-blocked = blockiert
outcome-invalid-response = ungültige Antwort
outcome-auth-error = Authentifizierungsfehler
outcome-template-error = Vorlagenfehler

## Problem titles

problem-validation-error = Validierung fehlgeschlagen
problem-unauthorized = Nicht authentifiziert
problem-forbidden = Zugriff verweigert
problem-not-found = Nicht gefunden
problem-method-not-allowed = Methode nicht erlaubt
problem-version-conflict = Versionskonflikt
problem-conflict = Konflikt
problem-payload-too-large = Anfrage zu groß
problem-unsupported-media-type = Nicht unterstützter Medientyp
problem-rate-limited = Zu viele Anfragen
problem-internal = Interner Fehler

## The admin page

admin-title = hookd – Verwaltung
admin-language = Sprache
admin-sign-out = Abmelden
admin-sign-in-title = Anmelden
admin-token = Token
admin-sign-in = Anmelden
admin-token-hint = Das Admin-Token oder ein Konto-Token ({ $example }). Es bleibt nur in diesem Browser-Tab gespeichert, bis Sie sich abmelden oder den Tab schließen.
admin-signed-in-admin = Als Administrator angemeldet
admin-signed-in-account = Mit einem Konto-Token angemeldet
admin-current-account = Konto { $name } ({ $id })
admin-token-expired = Das Token wird nicht mehr akzeptiert. Bitte melden Sie sich erneut an.
admin-network-error = Netzwerkfehler
admin-network-error-detail = hookd konnte nicht erreicht werden ({ $error }).
admin-error = Fehler
admin-account-title = Konto
admin-choose-account = Konto auswählen
admin-open = Öffnen
admin-account-id = Konto-ID
admin-account-id-hint = Dieses Token gehört zu einem bestimmten Konto: Geben Sie dessen ID ein.
admin-webhooks-title = Webhooks
admin-webhooks-of = Webhooks von { $account }
admin-create-webhook = Neuen Webhook erstellen
admin-reload = Neu laden
admin-failures = Fehlschläge
admin-actions = Aktionen
admin-actions-for = Aktionen für { $webhook }
admin-no-webhooks = Noch keine Webhooks.
admin-update = Bearbeiten
admin-remove = Entfernen
admin-send-test = Testereignis senden
admin-delivery-log = Zustellprotokoll
admin-deliver-buffered = zwischengespeicherte Ereignisse zustellen
admin-activate = Reaktivieren
admin-form-create = Neuen Webhook erstellen
admin-form-update = Webhook bearbeiten
admin-enabled = Eingeschaltet
admin-account = Konto
admin-events-hint = Ereignisse (durch Komma oder Zeilenumbruch getrennt)
admin-version = Version { $version }
admin-save = Speichern
admin-cancel = Abbrechen
admin-auth = Authentifizierung
admin-auth-none = Keine
admin-auth-basic = Basic (Benutzername und Passwort)
admin-auth-bearer = Bearer-Token
admin-auth-oauth2 = OAuth 2.0 (Client Credentials)
admin-auth-mtls = Client-Zertifikat (mTLS)
admin-auth-username = Benutzername
admin-auth-password = Passwort
admin-auth-token = Token
admin-auth-token-url = Token-URL
admin-auth-client-id = Client-ID
admin-auth-client-secret = Client-Geheimnis
admin-auth-scope = Scope (optional)
admin-auth-audience = Audience (optional)
admin-auth-certificate = Zertifikat (PEM)
admin-auth-private-key = Privater Schlüssel (PEM)
admin-unchanged = (unverändert)
admin-certificate-facts = Gespeichertes Zertifikat: { $subject }, gültig bis zum { $date }.
admin-filter = Filter (CEL-Ausdruck, optional)
admin-template = Inhalt
admin-template-none = Standardumschlag
admin-template-slack = Slack-Nachricht
admin-template-discord = Discord-Nachricht
admin-template-body = Eigene Vorlage (Jinja)
admin-template-body-text = Vorlage
admin-template-content-type = Inhaltstyp
admin-signature = Signaturen
admin-signature-v1 = v1 (HMAC mit dem Geheimnis)
admin-signature-v1a = v1a (Ed25519 mit dem öffentlichen Schlüssel)
admin-signature-v1-v1a = v1 und v1a
admin-saved = „{ $name }“ gespeichert (Version { $version }).
admin-created = „{ $name }“ erstellt.
admin-version-conflict = Jemand anders hat diesen Webhook inzwischen geändert (jetzt Version { $version }). Laden Sie ihn neu und versuchen Sie es noch einmal.
admin-confirm-remove = Den Webhook „{ $name }“ entfernen? Seine ausstehenden Zustellungen werden abgebrochen.
admin-removed = „{ $name }“ entfernt.
admin-activated-replayed = { $count ->
    [0] „{ $name }“ reaktiviert; es waren keine Ereignisse zwischengespeichert.
    [one] „{ $name }“ reaktiviert: { $count } zwischengespeichertes Ereignis wird zugestellt.
   *[other] „{ $name }“ reaktiviert: { $count } zwischengespeicherte Ereignisse werden zugestellt.
}
admin-activated-dropped = { $count ->
    [0] „{ $name }“ reaktiviert; es waren keine Ereignisse zwischengespeichert.
    [one] „{ $name }“ reaktiviert: { $count } zwischengespeichertes Ereignis wurde verworfen.
   *[other] „{ $name }“ reaktiviert: { $count } zwischengespeicherte Ereignisse wurden verworfen.
}
admin-test-sent = Testereignis an „{ $name }“ gesendet.
admin-test-body = Gesendeter Inhalt ({ $type }):
admin-test-waiting = Warten auf die Antwort des Empfängers …
admin-test-answer = Antwort des Empfängers:
admin-log-title = Zustellprotokoll
admin-log-of = Zustellprotokoll für { $webhook }
admin-refresh = Aktualisieren
admin-close = Schließen
admin-loading = Wird geladen …
admin-no-deliveries = Noch keine Zustellungen.
admin-created-column = Erstellt
admin-event = Ereignis
admin-attempts = Versuche
admin-attempt = Versuch { $number }
admin-no-attempt = noch kein Versuch
admin-next-attempt = nächster Versuch am { $date }
admin-duration = { $ms } ms

## The admin page: portal links, portal mode, replay, health, activating with buffered events

admin-portal-link = Portal-Link
admin-portal-link-for = Portal-Link für { $account }
portal-link-title = Neuer Portal-Link für { $account }
portal-link-expires = Gültig für
portal-link-1h = 1 Stunde
portal-link-1d = 1 Tag
portal-link-7d = 7 Tage
portal-link-read-only = Nur Lesezugriff (ansehen, aber nichts ändern)
portal-link-create = Link erstellen
portal-link-url = Link
portal-link-copy = Kopieren
portal-link-copied = Kopiert.
portal-link-copy-by-hand = Der Link ist markiert: Kopieren Sie ihn mit Strg+C (⌘C auf dem Mac).
portal-link-made = Wer diesen Link öffnet, kann bis zum { $date } die Webhooks dieses Kontos verwalten. Er wird nur dieses eine Mal angezeigt: Kopieren Sie ihn, bevor Sie dieses Formular schließen.
portal-link-made-read-only = Wer diesen Link öffnet, kann bis zum { $date } die Webhooks dieses Kontos samt Zustellprotokollen und Zustand ansehen, aber nichts ändern. Er wird nur dieses eine Mal angezeigt: Kopieren Sie ihn, bevor Sie dieses Formular schließen.
portal-title = { $account } – hookd
portal-who = Portal für { $account }
portal-read-only = nur Lesezugriff
portal-until = gültig bis zum { $date }
portal-ended-title = Dieser Portal-Link funktioniert nicht mehr
portal-ended-text = Er ist abgelaufen oder wurde widerrufen. Bitte fordern Sie einen neuen Link an.
admin-replay = Fehlgeschlagene Zustellungen seit … erneut senden
replay-title = Zustellungen an { $webhook } erneut senden
replay-since = Seit
replay-statuses = Zustellungen mit dem Status
replay-hint = Jede Zustellung erhält jetzt eine neue Serie von Zustellversuchen, beginnend mit der ältesten.
replay-submit = Erneut senden
replay-no-since = Bitte geben Sie Datum und Uhrzeit ein, ab denen erneut gesendet werden soll.
replay-no-status = Bitte wählen Sie mindestens einen Status.
replay-scheduled = { $count ->
    [0] Für „{ $webhook }“ gibt es nichts erneut zu senden: Keine Zustellung entspricht der Auswahl.
    [one] { $count } Zustellung an „{ $webhook }“ wird erneut gesendet.
   *[other] { $count } Zustellungen an „{ $webhook }“ werden erneut gesendet.
}
admin-health = Letzte 24 Stunden
health-no-attempts = Keine Zustellversuche in den letzten 24 Stunden
health-unavailable = nicht verfügbar
health-rate = { $rate } erfolgreich
health-p95 = p95 { $ms } ms
health-summary = { $attempts ->
    [one] Letzte 24 Stunden: { $attempts } Zustellversuch, { $succeeded } erfolgreich, { $failed } fehlgeschlagen
   *[other] Letzte 24 Stunden: { $attempts } Zustellversuche, { $succeeded } erfolgreich, { $failed } fehlgeschlagen
}
admin-buffered = { $count ->
    [one] { $count } zwischengespeichertes Ereignis
   *[other] { $count } zwischengespeicherte Ereignisse
}
admin-buffered-many = { $count } oder mehr zwischengespeicherte Ereignisse
admin-deliver-buffered-count = { $count ->
    [one] das zwischengespeicherte Ereignis zustellen
   *[other] die { $count } zwischengespeicherten Ereignisse zustellen
}
admin-deliver-buffered-many = alle zwischengespeicherten Ereignisse zustellen ({ $count } oder mehr)
admin-confirm-drop = { $count ->
    [one] Den Webhook „{ $name }“ ohne das zwischengespeicherte Ereignis reaktivieren? Das Ereignis wird verworfen.
   *[other] Den Webhook „{ $name }“ ohne die zwischengespeicherten Ereignisse reaktivieren? Die { $count } Ereignisse werden verworfen.
}
admin-confirm-drop-many = Den Webhook „{ $name }“ ohne die zwischengespeicherten Ereignisse reaktivieren? Alle ({ $count } oder mehr) werden verworfen.
admin-confirm-drop-unknown = Den Webhook „{ $name }“ ohne die zwischengespeicherten Ereignisse reaktivieren? Sie werden verworfen.

## Portal link pages (GET /portal/… for a link that does not work)

portal-invalid-title = Link ungültig
portal-invalid-text = Dieser Portal-Link ist ungültig. Bitte prüfen Sie, ob Sie den vollständigen Link kopiert haben, oder fordern Sie einen neuen an.
portal-expired-title = Link abgelaufen
portal-expired-text = Dieser Portal-Link ist abgelaufen. Bitte fordern Sie einen neuen an.
portal-revoked-title = Link widerrufen
portal-revoked-text = Dieser Portal-Link wurde widerrufen. Bitte fordern Sie einen neuen an.
