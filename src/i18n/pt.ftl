# hookd — português (europeu). Same message ids and variables as en.ftl (the reference; its
# header says which Fluent constructs may be used). Neutral, formal address (no "tu", no
# "você"; buttons in the infinitive); quotation marks «…»; spelling of the 1990 agreement.
# Terms: webhook (o), evento, entrega, tentativa, conta, token, ligação do portal (portal link),
# retido / reter (buffered), reenviar (resend), reativar / desativar (activate / deactivate),
# ligado / desligado (enabled / disabled), eliminar (remove), descartar (drop / discard).

## Shared by hookd and the admin page

field-name = Nome
field-url = URL
field-events = Eventos
field-status = Estado

reason-gone = o URL de destino respondeu 410 Gone
reason-failures = { $count ->
    [one] { $count } tentativa de entrega falhada desde { $since }; último erro: { $error }
   *[other] { $count } tentativas de entrega falhadas seguidas desde { $since }; último erro: { $error }
}

## Dates written by hookd

date-long = { $day } de { $month } de { $year }, { $time } UTC
date-month = { $month ->
    [1] janeiro
    [2] fevereiro
    [3] março
    [4] abril
    [5] maio
    [6] junho
    [7] julho
    [8] agosto
    [9] setembro
    [10] outubro
    [11] novembro
   *[12] dezembro
}

## Notifications

notification-deactivated = O webhook «{ $name }» ({ $url }) foi desativado: { $reason }. Os respetivos eventos ficam retidos até { $until }.
notification-failing = { $count ->
    [one] O webhook «{ $name }» ({ $url }) está a falhar: uma tentativa de entrega falhada desde { $since }; último erro: { $error }. Se continuar a falhar, será desativado e os respetivos eventos ficarão retidos.
   *[other] O webhook «{ $name }» ({ $url }) está a falhar: { $count } tentativas de entrega falhadas seguidas desde { $since }; último erro: { $error }. Se continuar a falhar, será desativado e os respetivos eventos ficarão retidos.
}

## Activation pages

activation-title = Reativar webhook
activation-deactivated = Desativado em
activation-reason = Motivo
activation-buffered = Eventos retidos
activation-replay = { $count ->
    [one] Reativar e entregar o evento retido
   *[other] Reativar e entregar os { $count } eventos retidos
}
activation-drop = { $count ->
    [one] Reativar e descartar o evento retido
   *[other] Reativar e descartar os { $count } eventos retidos
}
activation-reactivate = Reativar
activation-done-title = Webhook reativado
activation-done-replayed = { $count ->
    [0] O webhook «{ $name }» está novamente ativo. Não havia eventos retidos.
    [one] O webhook «{ $name }» está novamente ativo. O evento retido vai ser entregue.
   *[other] O webhook «{ $name }» está novamente ativo. Os { $count } eventos retidos vão ser entregues, do mais antigo para o mais recente.
}
activation-done-dropped = { $count ->
    [0] O webhook «{ $name }» está novamente ativo. Não havia eventos retidos.
    [one] O webhook «{ $name }» está novamente ativo. O evento retido foi descartado.
   *[other] O webhook «{ $name }» está novamente ativo. Os { $count } eventos retidos foram descartados.
}
activation-invalid-title = Ligação inválida
activation-invalid-text = Esta ligação de reativação não é válida: pode ter sido alterada ou o respetivo webhook foi eliminado.
activation-gone-title = A ligação já não é válida
activation-gone-text = Esta ligação de reativação já foi utilizada, ou o webhook foi reativado de outra forma, ou a ligação expirou porque os eventos retidos deixaram de ser guardados.

## Webhook and delivery states, attempt outcomes

status-active = ativo
status-deactivated = desativado
status-disabled = desligado
delivery-pending = pendente
delivery-succeeded = entregue
delivery-failed = falhada
delivery-buffered = retida
delivery-expired = expirada
delivery-cancelled = cancelada
outcome-success = sucesso
outcome-http-error = erro HTTP
outcome-timeout = tempo esgotado
outcome-connect-error = erro de ligação
outcome-tls-error = erro TLS
outcome-dns-error = erro DNS
outcome-blocked = bloqueada
outcome-invalid-response = resposta inválida
outcome-auth-error = erro de autenticação
outcome-template-error = erro de modelo

## Problem titles

problem-validation-error = Falha na validação
problem-unauthorized = Não autenticado
problem-forbidden = Acesso negado
problem-not-found = Não encontrado
problem-method-not-allowed = Método não permitido
problem-version-conflict = Conflito de versões
problem-conflict = Conflito
problem-payload-too-large = Pedido demasiado grande
problem-unsupported-media-type = Tipo de conteúdo não suportado
problem-rate-limited = Demasiados pedidos
problem-internal = Erro interno

## The admin page

admin-title = hookd – administração
admin-language = Idioma
admin-sign-out = Terminar sessão
admin-sign-in-title = Iniciar sessão
admin-token = Token
admin-sign-in = Iniciar sessão
admin-token-hint = O token de administração ou um token de conta ({ $example }). Fica guardado apenas neste separador do navegador, até terminar a sessão ou fechar o separador.
admin-signed-in-admin = Sessão iniciada como administrador
admin-signed-in-account = Sessão iniciada com um token de conta
admin-current-account = conta { $name } ({ $id })
admin-token-expired = O token já não é aceite. Inicie sessão novamente.
admin-network-error = Erro de rede
admin-network-error-detail = Não foi possível contactar o hookd ({ $error }).
admin-error = Erro
admin-account-title = Conta
admin-choose-account = Selecione uma conta
admin-open = Abrir
admin-account-id = ID da conta
admin-account-id-hint = Este token pertence a uma única conta: introduza o ID dessa conta.
admin-webhooks-title = Webhooks
admin-webhooks-of = Webhooks de { $account }
admin-create-webhook = Criar novo webhook
admin-reload = Recarregar
admin-failures = Falhas
admin-actions = Ações
admin-actions-for = Ações para { $webhook }
admin-no-webhooks = Ainda não há webhooks.
admin-update = Editar
admin-remove = Eliminar
admin-send-test = Enviar evento de teste
admin-delivery-log = Registo de entregas
admin-deliver-buffered = entregar os eventos retidos
admin-activate = Reativar
admin-form-create = Criar novo webhook
admin-form-update = Editar webhook
admin-enabled = Ligado
admin-account = Conta
admin-events-hint = Eventos (separados por vírgulas ou um por linha)
admin-version = Versão { $version }
admin-save = Guardar
admin-cancel = Cancelar
admin-auth = Autenticação
admin-auth-none = Nenhuma
admin-auth-basic = Basic (nome de utilizador e palavra-passe)
admin-auth-bearer = Token Bearer
admin-auth-oauth2 = OAuth 2.0 (credenciais de cliente)
admin-auth-mtls = Certificado de cliente (mTLS)
admin-auth-username = Nome de utilizador
admin-auth-password = Palavra-passe
admin-auth-token = Token
admin-auth-token-url = URL do token
admin-auth-client-id = ID do cliente
admin-auth-client-secret = Segredo do cliente
admin-auth-scope = Âmbito (opcional)
admin-auth-audience = Audiência (opcional)
admin-auth-certificate = Certificado (PEM)
admin-auth-private-key = Chave privada (PEM)
admin-unchanged = (sem alterações)
admin-certificate-facts = Certificado guardado: { $subject }, válido até { $date }.
admin-filter = Filtro (expressão CEL, opcional)
admin-template = Conteúdo
admin-template-none = Envelope predefinido
admin-template-slack = Mensagem do Slack
admin-template-discord = Mensagem do Discord
admin-template-body = Modelo próprio (Jinja)
admin-template-body-text = Modelo
admin-template-content-type = Tipo de conteúdo
admin-signature = Assinaturas
admin-signature-v1 = v1 (HMAC com o segredo)
admin-signature-v1a = v1a (Ed25519 com a chave pública)
admin-signature-v1-v1a = v1 e v1a
admin-saved = «{ $name }» guardado (versão { $version }).
admin-created = «{ $name }» criado.
admin-version-conflict = Outra pessoa alterou este webhook entretanto (agora na versão { $version }). Recarregue e tente novamente.
admin-confirm-remove = Eliminar o webhook «{ $name }»? As respetivas entregas pendentes serão canceladas.
admin-removed = «{ $name }» eliminado.
admin-activated-replayed = { $count ->
    [0] «{ $name }» reativado; não havia eventos retidos.
    [one] «{ $name }» reativado: { $count } evento retido está a ser entregue.
   *[other] «{ $name }» reativado: { $count } eventos retidos estão a ser entregues.
}
admin-activated-dropped = { $count ->
    [0] «{ $name }» reativado; não havia eventos retidos.
    [one] «{ $name }» reativado: { $count } evento retido foi descartado.
   *[other] «{ $name }» reativado: { $count } eventos retidos foram descartados.
}
admin-test-sent = Evento de teste enviado para «{ $name }».
admin-test-body = Conteúdo enviado ({ $type }):
admin-test-waiting = A aguardar a resposta do destinatário…
admin-test-answer = Resposta do destinatário:
admin-log-title = Registo de entregas
admin-log-of = Registo de entregas de { $webhook }
admin-refresh = Atualizar
admin-close = Fechar
admin-loading = A carregar…
admin-no-deliveries = Ainda não há entregas.
admin-created-column = Criada em
admin-event = Evento
admin-attempts = Tentativas
admin-attempt = Tentativa { $number }
admin-no-attempt = ainda sem tentativas
admin-next-attempt = próxima tentativa: { $date }
admin-duration = { $ms } ms

## The admin page: portal links, portal mode, replay, health, activating with buffered events

admin-portal-link = Ligação do portal
admin-portal-link-for = Ligação do portal para { $account }
portal-link-title = Nova ligação do portal para { $account }
portal-link-expires = Válida durante
portal-link-1h = 1 hora
portal-link-1d = 1 dia
portal-link-7d = 7 dias
portal-link-read-only = Só de leitura (permite ver, mas não alterar nada)
portal-link-create = Criar ligação
portal-link-url = Ligação
portal-link-copy = Copiar
portal-link-copied = Copiada.
portal-link-copy-by-hand = A ligação está selecionada: copie-a com Ctrl+C (⌘C num Mac).
portal-link-made = Quem abrir esta ligação pode gerir os webhooks desta conta até { $date }. Só é mostrada uma vez: copie-a antes de fechar este formulário.
portal-link-made-read-only = Quem abrir esta ligação pode ver os webhooks, os registos de entregas e o estado de funcionamento desta conta até { $date }, mas não pode alterar nada. Só é mostrada uma vez: copie-a antes de fechar este formulário.
portal-title = { $account } – hookd
portal-who = Portal de { $account }
portal-read-only = só de leitura
portal-until = válida até { $date }
portal-ended-title = Esta ligação do portal já não funciona
portal-ended-text = Expirou ou foi revogada. Peça uma nova ligação.
admin-replay = Reenviar entregas falhadas desde …
replay-title = Reenviar entregas de { $webhook }
replay-since = Desde
replay-statuses = Entregas com o estado
replay-hint = Cada entrega, da mais antiga para a mais recente, recebe agora uma nova série de tentativas.
replay-submit = Reenviar
replay-no-since = Indique a partir de que data e hora pretende reenviar.
replay-no-status = Selecione pelo menos um estado.
replay-scheduled = { $count ->
    [0] Nada a reenviar para «{ $webhook }»: nenhuma entrega corresponde aos critérios.
    [one] { $count } entrega para «{ $webhook }» agendada para reenvio.
   *[other] { $count } entregas para «{ $webhook }» agendadas para reenvio.
}
admin-health = Últimas 24 horas
health-no-attempts = Nenhuma tentativa nas últimas 24 horas
health-unavailable = indisponível
health-rate = taxa de sucesso: { $rate }
health-p95 = p95 { $ms } ms
health-summary = { $attempts ->
    [one] Últimas 24 horas: { $attempts } tentativa (bem-sucedidas: { $succeeded }, falhadas: { $failed })
   *[other] Últimas 24 horas: { $attempts } tentativas (bem-sucedidas: { $succeeded }, falhadas: { $failed })
}
admin-buffered = { $count ->
    [one] { $count } evento retido
   *[other] { $count } eventos retidos
}
admin-buffered-many = { $count } ou mais eventos retidos
admin-deliver-buffered-count = { $count ->
    [one] entregar o evento retido
   *[other] entregar os { $count } eventos retidos
}
admin-deliver-buffered-many = entregar todos os eventos retidos ({ $count } ou mais)
admin-confirm-drop = { $count ->
    [one] Reativar «{ $name }» sem o evento retido? O evento será descartado.
   *[other] Reativar «{ $name }» sem os eventos retidos? Os { $count } eventos serão descartados.
}
admin-confirm-drop-many = Reativar «{ $name }» sem os eventos retidos? Serão todos descartados ({ $count } ou mais).
admin-confirm-drop-unknown = Reativar «{ $name }» sem os eventos retidos? Serão descartados.

## Portal link pages (GET /portal/… for a link that does not work)

portal-invalid-title = Ligação inválida
portal-invalid-text = Esta ligação do portal não é válida. Verifique se copiou a ligação completa ou peça uma nova.
portal-expired-title = Ligação expirada
portal-expired-text = Esta ligação do portal expirou. Peça uma nova.
portal-revoked-title = Ligação revogada
portal-revoked-text = Esta ligação do portal foi revogada. Peça uma nova.
