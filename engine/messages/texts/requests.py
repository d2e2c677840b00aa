"""What requests, the rule and tariff engines and the web API say: field errors, facts, quotes,
problem details, hostile input, serving, the decision log, reloads, bounds, partial answers, the API
contract and the studio API. The English texts are the ones the API has always returned, byte for
byte; clients and tests compare them."""

from __future__ import annotations

from typing import Final

from ..codes import Code
from ..language import Text

TEXTS: Final[dict[Code, Text]] = {
    Code.REQUIRED: Text("必須の項目です。", "Missing data for required field."),
    Code.NULL: Text("null は指定できません。", "Field may not be null."),
    Code.INVALID_VALUE: Text("値が正しくありません。", "Invalid value."),
    Code.UNKNOWN_FIELD: Text("定義されていない項目です。", "Unknown field."),
    Code.INVALID_INPUT_TYPE: Text("入力の型が正しくありません。", "Invalid input type."),
    Code.NOT_A_STRING: Text("文字列で指定してください。", "Not a valid string."),
    Code.NOT_A_NUMBER: Text("数値で指定してください。", "Not a valid number."),
    Code.NOT_AN_INTEGER: Text("整数で指定してください。", "Not a valid integer."),
    Code.NOT_A_BOOLEAN: Text("true または false で指定してください。", "Not a valid boolean."),
    Code.NOT_A_DATE: Text("日付（YYYY-MM-DD）で指定してください。", "Not a valid date."),
    Code.NOT_A_LIST: Text("配列で指定してください。", "Not a valid list."),
    Code.NOT_A_MAPPING: Text("オブジェクトで指定してください。", "Not a valid mapping type."),
    Code.ONE_OF: Text("次のいずれかを指定してください: {choices}。", "Must be one of: {choices}."),
    Code.AT_LEAST: Text("{min}以上の値にしてください。", "Must be greater than or equal to {min}."),
    Code.AT_MOST: Text("{max}以下の値にしてください。", "Must be less than or equal to {max}."),
    Code.BETWEEN: Text(
        "{min}以上{max}以下の値にしてください。",
        "Must be greater than or equal to {min} and less than or equal to {max}.",
    ),
    Code.TOO_SHORT: Text("{min}件以上指定してください。", "Shorter than minimum length {min}."),
    Code.TOO_LONG: Text("{max}件（文字）以内にしてください。", "Longer than maximum length {max}."),
    Code.TEXT_LENGTH_BETWEEN: Text(
        "{min}文字以上{max}文字以内で指定してください。",
        "Length must be between {min} and {max}.",
    ),
    Code.LIST_LENGTH_BETWEEN: Text(
        "{min}件以上{max}件以内で指定してください。", "Length must be between {min} and {max}."
    ),
    Code.FACTS_NOT_AN_OBJECT: Text(
        "facts は JSON オブジェクトで指定してください。", "Facts must be a JSON object."
    ),
    Code.ITEMS_REPEAT: Text("同じ値を重ねて指定できません。", "Items must not repeat."),
    Code.PARAM_NOT_A_BOOLEAN: Text(
        "true または false で指定してください。", "Not a valid boolean (true or false)."
    ),
    Code.PARAM_NOT_A_DATE: Text(
        "日付（YYYY-MM-DD）で指定してください。", "Not a valid date (YYYY-MM-DD)."
    ),
    Code.PARAM_NOT_A_DATETIME: Text(
        "日時（YYYY-MM-DDTHH:MM）で指定してください。",
        "Not a valid date and time (YYYY-MM-DDTHH:MM).",
    ),
    Code.PARAM_TIME_ZONE: Text(
        "日本時間で、タイムゾーン（+09:00 など）を付けずに指定してください。",
        "Give the local (Japan) time without a time zone offset.",
    ),
    Code.PARAM_NOT_A_MONTH: Text(
        "年月（YYYY-MM）で指定してください。", "Not a valid month (YYYY-MM)."
    ),
    Code.PARAM_NOT_A_TEXT: Text("空欄にせず、文字で指定してください。", "Not a valid text."),
    Code.PARAM_TEXT_TOO_LONG: Text(
        "{max}文字以内にしてください。", "Longer than {max} characters."
    ),
    Code.PARAMS_NOT_AN_OBJECT: Text("オブジェクトで指定してください。", "Must be an object."),
    Code.UNKNOWN_PARAM: Text(
        "定義されていないパラメータです。次のいずれかを指定してください: {expected}。",
        "Unknown parameter. Expected one of: {expected}.",
    ),
    Code.UNKNOWN_PARAM_NONE_EXPECTED: Text(
        "この品目に指定できるパラメータはありません。",
        "Unknown parameter. Expected one of: none.",
    ),
    Code.PARAM_BEFORE: Text("{other} 以降にしてください。", "Must not be before {other}."),
    # A kind's refusal stands under the field to change. Its English reads on from the field's name
    # ("through_month: is before the purchase month."), as it always has; the Japanese stands alone
    # and names the other fields by their tariff labels, with the parameter for whoever fills it in.
    Code.MONTH_BEFORE_PURCHASE: Text(
        "購入日（purchased_on）の月以降の月を指定してください。", "is before the purchase month."
    ),
    Code.MONTH_BEFORE_SERVICE_START: Text(
        "提供開始日（service_start）の月以降の月を指定してください。",
        "is before the month of service_start.",
    ),
    Code.UNIT_CHANGE_INCOMPLETE: Text(
        "変更後の戸数（units_changed_to）と戸数変更の承諾日（units_change_approved_on）は、"
        "両方を指定するか、両方とも省略してください。",
        "is needed together with the other unit-change parameter.",
    ),
    Code.UNIT_CHANGE_OUTSIDE_PLAN: Text(
        "適用開始日（plan_start）から適用廃止日（plan_end）までの日付を指定してください。",
        "must fall between plan_start and plan_end.",
    ),
    Code.WORK_DATE_FOR_DAYTIME: Text(
        "午前8時30分〜午後5時を指定した工事は、12月29日〜1月3日かどうかで料金が変わるため、"
        "施工日を指定してください。",
        "is needed when the daytime slot is designated (Dec 29–Jan 3 rule).",
    ),
    Code.ONU_WORKS_OR_AMOUNT: Text(
        "回線終端装置工事は、件数（onu_works）か合計額（onu_work_amount）のどちらか一方で"
        "指定してください。",
        "give onu_works or onu_work_amount, not both.",
    ),
    Code.CONSTRUCTION_WITHOUT_WORK: Text(
        "交換機等工事または回線終端装置工事を1件以上指定してください。",
        "name at least one exchange or ONU work.",
    ),
    Code.JOINT_MONTH_AND_REGISTRATION: Text(
        "料金月（month）と登録日（registered_on）は、両方を指定するか、両方とも省略してください。",
        "is needed together with the other of month / registered_on.",
    ),
    Code.JOINT_CONSTRUCTION_WITHOUT_WORK: Text(
        "工事するソフトウェアを1件以上指定してください。", "name at least one software work."
    ),
    Code.STARTS_AT_OR_TIME_SLOT: Text(
        "工事の開始日時（starts_at）を指定する場合は、施工時間帯（time_slot）と施工日（work_date）は"
        "指定しないでください。時間帯は開始日時から決まります。",
        "give starts_at, or time_slot and work_date, not both: the slot follows from the start.",
    ),
    Code.PARAM_MONTH_AMOUNTS: Text(
        "月（YYYY-MM）ごとの金額（円）を1〜{max}か月分、オブジェクトで指定してください。",
        "Must be an object of months (YYYY-MM) to whole yen, 1 to {max} months.",
    ),
    Code.QUOTE_NOT_AN_OBJECT: Text(
        "リクエストはオブジェクトで指定してください。", "The request must be an object."
    ),
    Code.QUOTE_NO_ITEMS: Text(
        "見積もる品目を1件以上、配列で指定してください。", "Give a non-empty list of items."
    ),
    Code.QUOTE_TOO_MANY_ITEMS: Text(
        "1回の見積もりで指定できる品目は{max}件までです。", "At most {max} items per quote."
    ),
    Code.QUOTE_ITEM_NOT_AN_OBJECT: Text(
        "tariff、item、params を持つオブジェクトで指定してください。",
        "Must be an object with tariff, item and params.",
    ),
    Code.QUOTE_UNKNOWN_TARIFF: Text(
        "この料金表はありません。次のいずれかを指定してください: {known}。",
        "Unknown tariff. Known: {known}.",
    ),
    Code.QUOTE_TARIFF_NOT_IN_FORCE: Text(
        "{day} に有効な料金表 {tariff} の版はありません。",
        "No version of tariff {tariff} is in force on {day}.",
    ),
    Code.QUOTE_ITEM_REQUIRED: Text(
        "必須の項目です。次のいずれかを指定してください: {known}。",
        "Missing data for required field. Expected one of: {known}.",
    ),
    Code.QUOTE_UNKNOWN_ITEM: Text(
        "この料金表にない品目です。次のいずれかを指定してください: {known}。",
        "Unknown item. Expected one of: {known}.",
    ),
    Code.NO_TAX_RATE: Text(
        "{day} に適用される消費税率がありません。", "No consumption tax rate is in force on {day}."
    ),
    Code.UNKNOWN_RULESET: Text(
        "判定ルール {id!r} はありません。", "Rule set {id!r} does not exist."
    ),
    Code.NO_VERSION_IN_FORCE: Text(
        "{day} に有効な {id!r} の版はありません。", "No version of {id!r} is in force on {day}."
    ),
    Code.UNKNOWN_TARIFF: Text("料金表 {id!r} はありません。", "Tariff {id!r} does not exist."),
    Code.INVALID_FIELDS: Text(
        "{count}件の入力に誤りがあります。", "{count} invalid field value(s)."
    ),
    Code.MALFORMED_JSON: Text(
        "本文を JSON として読めません（{reason}）。", "The body is not valid JSON ({reason})."
    ),
    Code.NOT_JSON: Text(
        "Content-Type: application/json で送信してください。",
        "Send the body with Content-Type: application/json.",
    ),
    Code.PAYLOAD_TOO_LARGE: Text(
        "リクエスト本文は {limit} バイトまでです。", "The request body is limited to {limit} bytes."
    ),
    # The English of these three is Werkzeug's own description of the HTTP error.
    Code.BAD_REQUEST: Text(
        "リクエストの内容を理解できませんでした。",
        "The browser (or proxy) sent a request that this server could not understand.",
    ),
    Code.NOT_FOUND: Text(
        "指定のアドレスは見つかりませんでした。入力したアドレスに誤りがないかご確認ください。",
        "The requested URL was not found on the server. If you entered the URL manually please "
        "check your spelling and try again.",
    ),
    Code.METHOD_NOT_ALLOWED: Text(
        "このアドレスでは、このメソッドは使えません。",
        "The method is not allowed for the requested URL.",
    ),
    Code.INTERNAL_ERROR: Text(
        "処理中にエラーが発生しました（{kind}）。リクエストIDを添えてお問い合わせください。",
        "Something went wrong on our side ({kind}); quote the request id.",
    ),
    # Hostile input: request bytes that are not UTF-8, bodies that cannot be read, admin queries.
    # The English of the JSON and admin messages is what the API answered before they had codes.
    Code.NOT_UTF8: Text(
        "UTF-8 として正しくないバイトが含まれています。", "Holds bytes that are not valid UTF-8."
    ),
    Code.REQUEST_NOT_UTF8: Text(
        "リクエストの {field} に UTF-8 として読めない部分があります。UTF-8 で送ってください。",
        "The request's {field} is not valid UTF-8; send it as UTF-8.",
    ),
    Code.BODY_NOT_UTF8: Text(
        "本文を JSON として読めません（{offset} バイト目が UTF-8 ではありません）。",
        "The body is not valid JSON (byte {offset} is not UTF-8).",
    ),
    Code.JSON_TOO_DEEP: Text(
        "本文を JSON として読めません（入れ子が深すぎます）。",
        "The body is not valid JSON (nested too deeply).",
    ),
    Code.JSON_LONE_SURROGATE: Text(
        "本文を JSON として読めません（文字列に対のない UTF-16 サロゲートのエスケープがあります）。",
        "The body is not valid JSON (a string holds an unpaired UTF-16 surrogate escape).",
    ),
    Code.BODY_UNREADABLE: Text(
        "リクエスト本文を読み取れませんでした（チャンク転送の形式の誤り、または接続の切断）。",
        "The request body could not be read (a malformed chunked encoding, or the connection "
        "closed).",
    ),
    Code.CONTROL_CHARACTERS: Text(
        "制御文字（NUL など）は使えません。", "Must not contain control characters (such as NUL)."
    ),
    Code.DATE_OUT_OF_RANGE: Text(
        "{min} から {max} までの日付（日時）を指定してください。",
        "Must be a date (or date-time) from {min} to {max}.",
    ),
    Code.ADMIN_SEND_OBJECT: Text("JSON オブジェクトを送ってください。", "Send a JSON object."),
    Code.ADMIN_NOT_AN_OBJECT: Text("JSON オブジェクトではありません。", "Expected a JSON object."),
    Code.ADMIN_NAME_CANDIDATE: Text("候補フォルダを指定してください。", "Name the candidate."),
    Code.ADMIN_CANDIDATE_MISSING: Text(
        "候補のルールフォルダを指定してください。", "Missing the candidate rules folder."
    ),
    Code.ADMIN_NO_CANDIDATE_FOLDER: Text("候補フォルダがありません。", "No such candidate folder."),
    Code.ADMIN_NOT_UNDER_ROOT: Text(
        "{name!r} は impact のルートフォルダの下にあるフォルダではありません。",
        "{name!r} is not a folder under the impact root.",
    ),
    Code.ADMIN_INVALID_DATE: Text("日付が不正です。", "Invalid date."),
    Code.ADMIN_INVALID_LIMIT: Text("件数が不正です。", "Invalid limit."),
    Code.ADMIN_INVALID_CASES: Text("cases が不正です。", "Invalid cases."),
    Code.ADMIN_NOT_A_DAY: Text(
        "{input!r} は日付（YYYY-MM-DD）ではありません。", "{input!r} is not a date YYYY-MM-DD."
    ),
    Code.ADMIN_NOT_A_MOMENT: Text(
        "{input!r} は日付（YYYY-MM-DD）でも ISO 形式の日時でもありません。",
        "{input!r} is not a date YYYY-MM-DD or an ISO date-time.",
    ),
    Code.ADMIN_QUERY_LIMIT: Text(
        "1 から {max} までの整数を指定してください。", "Must be a whole number from 1 to {max}."
    ),
    Code.ADMIN_TOO_MANY_CASES: Text(
        "cases は {max} 件以内のリストで指定してください。", "A list of at most {max} cases."
    ),
    Code.ADMIN_CASE_NO_RULESET: Text(
        "判定ルールの ID を指定してください。", "Missing the rule set id."
    ),
    Code.ADMIN_CASE_NO_FACTS: Text(
        "facts をオブジェクトで指定してください。", "Expected an object of facts."
    ),
    # Serving, the page's access rule and CSRF (hardening: server model, page access, headers).
    Code.REQUEST_HEAD_TOO_LARGE: Text(
        "リクエスト行またはヘッダーが長すぎるか、多すぎます（1行 {limit} バイトまで）。",
        "The request line or the headers are too long or too many (at most {limit} bytes a line).",
    ),
    Code.SERVER_UNAVAILABLE: Text(
        "サービスを起動中または再起動中です。しばらくしてから、もう一度お試しください。",
        "The service is starting or restarting; retry in a few seconds.",
    ),
    Code.FORM_EXPIRED: Text(
        "フォームの有効期限が切れたか、このページから送信されたものではありません。"
        "ページを再読み込みしてから、もう一度送信してください。",
        "The form has expired or was not sent from this page; reload the page and send it again.",
    ),
    Code.ACCESS_CODE_WRONG: Text(
        "アクセスコードが正しくありません。", "The access code is not valid."
    ),
    # The decision log under faults (hardening: a lost log folder, readiness).
    Code.DECISION_LOG_UNAVAILABLE: Text(
        "判定記録を保存できないため、処理できませんでした。しばらくしてから再度お試しください。",
        "The decision log is unavailable, so the request was not processed; retry later.",
    ),
    Code.DECISION_LOG_NOT_READY: Text(
        "判定記録に書き込めないため、判定を受け付けられません。",
        "The decision log cannot be written, so no decision can be answered.",
    ),
    Code.RULES_NOT_LOADED: Text("判定ルールが読み込まれていません。", "No rule sets are loaded."),
    # Reloads across workers (hardening: worker generations). The reason is the operator's
    # diagnostic, as the English always said it.
    Code.RELOAD_REFUSED: Text(
        "読み込みを中止しました（{reason}）。前の版で判定を続けます。", "Reload refused ({reason})."
    ),
    # Bounds on input (hardening: huge integers, far-future months). A whole number beyond the range
    # durable_rules compares exactly, and a month beyond the calendar the tariffs' arithmetic covers.
    Code.INTEGER_OUT_OF_RANGE: Text(
        "{min}から{max}までの整数にしてください（これを超える数は正確に判定できません）。",
        "Must be a whole number from {min} to {max} (larger numbers cannot be decided exactly).",
    ),
    Code.MONTH_OUT_OF_RANGE: Text(
        "{min} から {max} までの年月を指定してください。",
        "Must be a month from {min} to {max}.",
    ),
    # Partial answers and what-ifs (engine.rules.partial). The Japanese is read out to a customer:
    # the answer, when it depends on something nobody knows yet, and what to confirm.
    Code.UNKNOWN_NOT_A_FACT: Text("この判定ルールにない項目です。", "Not a fact of this rule set."),
    Code.UNKNOWN_ALSO_GIVEN: Text(
        "facts にも値があります。わからない項目は facts に入れないでください。",
        "Also given in facts: leave a fact that is unknown out of facts.",
    ),
    Code.TOO_MANY_COMBINATIONS: Text(
        "考えられる組み合わせが多すぎます（{count}通り、上限は{limit}通り）。"
        "わからない項目のいくつかを確認してから、もう一度お試しください。",
        "Too many combinations to consider ({count}; the limit is {limit}). "
        "Confirm some of the unknown facts and ask again.",
    ),
    Code.WHATIF_TOO_SLOW: Text(
        "{seconds}秒以内に調べきれませんでした。わからない項目のいくつかを確認してから、"
        "もう一度お試しください。",
        "The combinations could not be considered within {seconds} s. "
        "Confirm some of the unknown facts and ask again.",
    ),
    Code.PARTIAL_LABEL: Text(
        "まだわからない事実によって答えが変わります",
        "The answer depends on facts not known yet",
    ),
    Code.PARTIAL_MISSING: Text("まだわからない事実：{facts}", "Facts not known yet: {facts}"),
    Code.PARTIAL_ASK: Text(
        "お客さまに、これらの事実をご確認ください。", "Confirm these facts with the customer."
    ),
    Code.PARTIAL_MATTERS: Text(
        "答えは、まだわからない事実によって変わります。どの場合にどの答えになるかをご案内します。",
        "The answer depends on facts not known yet; each possible answer is given with when it "
        "applies.",
    ),
    Code.PARTIAL_DOES_NOT_MATTER: Text(
        "まだわからない事実がどうであっても、答えは変わりません。",
        "Whatever the facts not known yet turn out to be, the answer is the same.",
    ),
    Code.VALUE_YES: Text("はい", "yes"),
    Code.VALUE_NO: Text("いいえ", "no"),
    Code.VALUE_ANY: Text("どの値でも", "any value"),
    Code.NUMBER_FROM: Text("{low}以上", "{low} or more"),
    Code.NUMBER_UP_TO: Text("{high}以下", "{high} or less"),
    Code.NUMBER_FROM_TO: Text("{low}以上{high}以下", "from {low} to {high}"),
    Code.DATE_FROM: Text("{low}以降", "on or after {low}"),
    Code.DATE_UP_TO: Text("{high}以前", "on or before {high}"),
    Code.DATE_FROM_TO: Text("{low}から{high}まで", "from {low} to {high}"),
    Code.TEXT_EXACTLY: Text("「{text}」", "\u201c{text}\u201d"),
    Code.TEXT_OTHER: Text("そのほかの文字列", "any other text"),
    Code.LIST_HAS_NOT: Text("{has}を含み、{has_not}は含まない", "includes {has}, not {has_not}"),
    Code.LIST_HAS_NONE: Text("{has_not}のどれも含まない", "none of {has_not}"),
    Code.LIST_HAS_ALL: Text("{has}をすべて含む", "includes {has}"),
    Code.LIST_OTHER_VALUES: Text("そのほかの値（{values}）", "another value ({values})"),
    Code.RELATION_LT: Text("「{other}」より少ない", "less than {other}"),
    Code.RELATION_EQ: Text("「{other}」と同じ", "equal to {other}"),
    Code.RELATION_GT: Text("「{other}」より多い", "more than {other}"),
    Code.RELATION_NE: Text("「{other}」と異なる", "different from {other}"),
    # The API contract (issue 18). A JSON parser's reason is English, so a body that does not parse
    # is named by where it fails; an error on our side names what failed in the answer's language.
    Code.MALFORMED_JSON_AT: Text(
        "本文を JSON として読めません（{line}行目の{column}文字目）。",
        "The body is not valid JSON (line {line}, column {column}).",
    ),
    Code.EVALUATION_FAILED: Text(
        "判定の処理中にエラーが発生しました。リクエストIDを添えてお問い合わせください。",
        "Something went wrong on our side (evaluation failed); quote the request id.",
    ),
    Code.UNEXPECTED_ERROR: Text(
        "処理中にエラーが発生しました。リクエストIDを添えてお問い合わせください。",
        "Something went wrong on our side (internal error); quote the request id.",
    ),
    # --- end API contract block
    # --- begin studio API block
    Code.UNKNOWN_QUERY_PARAMETERS: Text(
        "この呼び出しが受け付けないパラメータがあります：{names}。",
        "Unknown query parameters: {names}.",
    ),
    Code.UNKNOWN_QUERY_PARAMETER: Text(
        "この呼び出しのパラメータではありません。", "Not a parameter of this call."
    ),
    Code.ADMIN_ORDER: Text(
        "asc（古い順）か desc（新しい順）を指定してください。",
        "Must be asc (oldest first) or desc (newest first).",
    ),
    Code.STUDIO_API_CLOSED: Text(
        "スタジオは閉じています（トークンが設定されていません）。",
        "The studio is closed (no token is configured).",
    ),
    Code.STUDIO_API_TOKEN_NEEDED: Text(
        "スタジオには Bearer トークンかサインインが必要です。",
        "The studio needs a bearer token or a sign-in.",
    ),
    Code.STUDIO_API_TOKEN_WRONG: Text("トークンが正しくありません。", "The token is not valid."),
    Code.STUDIO_API_EDITOR_ONLY: Text(
        "公開と差し戻しは編集者だけができます。", "Only an editor may publish or roll back."
    ),
    Code.STUDIO_API_NO_KIND: Text(
        "{kind!r} はありません。rules か tariffs を指定してください。",
        "No kind {kind!r}: use rules or tariffs.",
    ),
    Code.STUDIO_API_NO_VERSION: Text(
        "{id} に版 {version} はありません。", "{id} has no version {version}."
    ),
    Code.STUDIO_API_NO_PUBLISH: Text("公開記録 {seq} はありません。", "No publish {seq}."),
    Code.STUDIO_API_DRAFT_FAILS: Text(
        "下書きが check を通りません（エラー{count}件）。",
        "The draft fails check ({count} errors).",
    ),
    Code.STUDIO_API_NO_ROLLBACK: Text(
        "差し戻せる以前の内容がありません。", "There is no earlier content to roll back to."
    ),
    Code.STUDIO_API_CONFLICT: Text(
        "下書きを開いた後にファイルが変更されました。開き直してください。",
        "The file changed since the draft was opened; open it again.",
    ),
    Code.STUDIO_API_FILE_NAME: Text(
        "フォルダを含まない、.yaml で終わるファイル名を指定してください。",
        "A plain file name ending in .yaml, without a folder.",
    ),
    Code.STUDIO_API_SEND_FACTS: Text("判定する事実を送ってください。", "Send the facts to decide."),
    Code.STUDIO_API_SEND_REQUEST: Text("見積りの内容を送ってください。", "Send the quote request."),
    Code.STUDIO_API_SEND_DRAFT: Text("下書きを送ってください。", "Send the draft."),
    Code.STUDIO_API_NO_TARIFFS: Text(
        "このサービスには料金表がありません。", "This service has no tariffs."
    ),
    Code.STUDIO_API_LIMIT: Text(
        "1 から {max} までの整数を指定してください。", "Must be a whole number from 1 to {max}."
    ),
    # --- end studio API block
}
