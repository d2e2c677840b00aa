"""What the pages say: the policy-owner studio's and the sales workspace's texts, written for a
sales person to read out to a customer (Japanese) and for English-speaking staff."""

from __future__ import annotations

from typing import Final

from ..codes import Code
from ..language import Text

TEXTS: Final[dict[Code, Text]] = {
    # The policy-owner studio's pages: sign-in, coverage, the editor's and publisher's notes.
    Code.STUDIO_SIGN_IN_NEEDED: Text(
        "スタジオを使うには、管理者トークン（または閲覧用トークン）でサインインしてください。",
        "Sign in with the admin token (or the studio's read-only token) to use the studio.",
    ),
    Code.STUDIO_CLOSED: Text(
        "スタジオは使えません。管理者トークン（FLETS_ADMIN_TOKEN）が設定されていません。",
        "The studio is closed: no admin token (FLETS_ADMIN_TOKEN) is configured.",
    ),
    Code.STUDIO_VIEW_ONLY: Text(
        "閲覧用のトークンでサインインしています。表の確認とシミュレーションはできますが、公開はできません。",
        "You are signed in with the read-only token: you can read and simulate, not publish.",
    ),
    Code.STUDIO_UNCOVERED: Text(
        "{count}行はどの例にも当たりません（強調表示の行）。",
        "{count} row(s) are reached by no example (highlighted).",
    ),
    Code.STUDIO_ALL_COVERED: Text(
        "どの行にも、その行に当たる例があります。",
        "Every row is reached by at least one example.",
    ),
    Code.STUDIO_NO_SCRIPT: Text(
        "入力中の確認・シミュレーション・公開には JavaScript が必要です。表は読めますし、下の欄で下書きを編集して、その表を作ることもできます。",
        "Checking as you type, simulating and publishing need JavaScript; without it you can read the table, and edit a draft below and make its table.",
    ),
    Code.STUDIO_DRAFT_TABLE: Text(
        "この表は編集中の下書き（版{version}）のものです。まだ公開されていません。",
        "This table is of the draft being edited (version {version}); it is not published.",
    ),
    Code.STUDIO_DRAFT_TABLE_REFUSED: Text(
        "下書きにエラーが{count}件あるため、表は公開されている版のままです。指摘を直してから、もう一度表を作ってください。",
        "The draft has {count} error(s), so the table is still the published version's; fix them and make the table again.",
    ),
    Code.STUDIO_CHECKING: Text(
        "確認中です…",
        "Checking…",
    ),
    Code.STUDIO_CHECK_CLEAN: Text(
        "エラーはありません（警告{warnings}件）。",
        "No errors ({warnings} warning(s)).",
    ),
    Code.STUDIO_CHECK_ERRORS: Text(
        "エラー{errors}件、警告{warnings}件があります。",
        "{errors} error(s), {warnings} warning(s).",
    ),
    Code.STUDIO_EXAMPLE_ADDED: Text(
        "このケースを例としてドラフトに追加しました。",
        "The case was added to the draft as an example.",
    ),
    Code.STUDIO_PUBLISHED: Text(
        "版{version}を公開しました。",
        "Version {version} is published.",
    ),
    Code.STUDIO_PUBLISH_REFUSED: Text(
        "公開できませんでした。次の指摘を直してください。",
        "Not published: fix what is listed below.",
    ),
    Code.STUDIO_REASON_NEEDED: Text(
        "公開の理由を書いてください。",
        "Give the reason for this publish.",
    ),
    Code.STUDIO_UNCHANGED: Text(
        "ドラフトは公開中の内容と同じです。",
        "The draft is the same as what is served.",
    ),
    Code.STUDIO_REQUEST_FAILED: Text(
        "処理できませんでした（HTTP {status}）。",
        "The request failed (HTTP {status}).",
    ),
    Code.STUDIO_ROLLED_BACK: Text(
        "以前の内容を版{version}として公開しました。",
        "The previous content is published again as version {version}.",
    ),
    Code.STUDIO_IMPACT_SUMMARY: Text(
        "判定記録{replayed}件のうち、{changed}件の答えが変わります。",
        "{changed} of {replayed} logged decisions would change.",
    ),
    Code.STUDIO_IMPACT_NO_LOG: Text(
        "再生できる判定記録はありません。",
        "There is no decision log to replay.",
    ),
    Code.STUDIO_EXAMPLES_SUMMARY: Text(
        "例{passed}件が合格、{failed}件が不合格です。",
        "{passed} example(s) pass, {failed} fail.",
    ),
    Code.STUDIO_NO_PUBLISHES: Text(
        "まだ公開の記録はありません。",
        "Nothing has been published from the studio yet.",
    ),
    # The sales workspace (webapp/sales). --- begin sales block
    Code.SALES_PRODUCT_TV: Text("テレビ伝送", "TV transport (フレッツ・テレビ伝送サービス)"),
    Code.SALES_PRODUCT_PASSPORT: Text("パスポートID", "Passport ID (フレッツ・パスポートID)"),
    Code.SALES_PRODUCT_COLLAB: Text(
        "光コラボ", "Hikari collaboration model (光コラボレーションモデル)"
    ),
    Code.SALES_PRODUCT_JOINT: Text("ジョイント", "Flets Joint (フレッツ・ジョイント)"),
    Code.SALES_PRODUCT_MATOMETE: Text(
        "まとめて支払い", "Bill-aggregation payment (フレッツ・まとめて支払い)"
    ),
    Code.SALES_INTENT_APPLY: Text("申し込む", "Apply"),
    Code.SALES_INTENT_MOVE: Text("引っ越す", "Move"),
    Code.SALES_INTENT_CHANGE: Text("変更する", "Change"),
    Code.SALES_INTENT_CANCEL: Text("やめる・止める", "Cancel or stop"),
    Code.SALES_INTENT_PRICE: Text("料金を知る", "Get a price"),
    Code.SALES_START_HEADING: Text("お客さまのご用件を選ぶ", "What does the customer want to do?"),
    Code.SALES_START_INTRO: Text(
        "ご用件ごとに、必要な確認とお見積りを1つの画面で行います。答えには根拠の条項と資料名を示します。",
        "Each situation runs every check and the quote an order needs on one page. Every answer names the clause and the source document it rests on.",
    ),
    Code.SALES_SEARCH_LABEL: Text(
        "ご用件を検索（タイトル・確認事項）", "Search situations (titles and questions)"
    ),
    Code.SALES_SEARCH_BUTTON: Text("検索", "Search"),
    Code.SALES_SEARCH_CLEAR: Text("すべて表示", "Show all"),
    Code.SALES_SEARCH_RESULTS: Text(
        "「{query}」に当てはまるご用件：{count}件", "{count} situations match “{query}”"
    ),
    Code.SALES_SEARCH_NONE: Text(
        "当てはまるご用件はありません。別の言葉で検索してください。",
        "No situation matches. Try other words.",
    ),
    Code.SALES_SINGLE_CHECKS: Text(
        "個別のチェック（判定ルールごと）", "Single checks (one rule set each)"
    ),
    Code.SALES_QUESTIONS_FOR: Text("確認事項：{title}", "Questions: {title}"),
    Code.SALES_REQUIRED: Text("必須", "required"),
    Code.SALES_YES: Text("はい", "Yes"),
    Code.SALES_NO: Text("いいえ", "No"),
    Code.SALES_UNCONFIRMED: Text("未確認", "Not confirmed yet"),
    Code.SALES_CHOOSE: Text("選択してください", "Choose"),
    Code.SALES_ASK_NOTE: Text(
        "お客さまに確認してください。未確認のままでも、答えと要確認の事項を表示します。",
        "Ask the customer. Left unconfirmed, the answer lists it as still to ask.",
    ),
    Code.SALES_UNKNOWN_NOTE: Text(
        "「{value}」を選ぶと未確認として扱い、要確認の事項に表示します。",
        "Choosing “{value}” treats it as not confirmed yet and lists it as still to ask.",
    ),
    Code.SALES_AS_OF_DEFAULT: Text("未入力なら判定日", "Empty means the decision date"),
    Code.SALES_DECISION_DATE: Text("判定日", "Decision date"),
    Code.SALES_DECISION_DATE_HELP: Text(
        "未入力なら本日（日本時間）。その日に有効な版で判定し、見積もります。",
        "Empty means today (Japan time); the rules and prices in force that day apply.",
    ),
    Code.SALES_QUOTE_HEADING: Text("お見積りの内容", "What to price"),
    Code.SALES_QUOTE_INCLUDE: Text("見積もる：{item}", "Price: {item}"),
    Code.SALES_CHECK_ONLY_IF: Text(
        "「{fact}」が「{value}」のときに確認します。", "Checked when “{fact}” is “{value}”."
    ),
    Code.SALES_QUOTE_ONLY_IF: Text(
        "「{fact}」が「{value}」のときに見積もります。", "Priced when “{fact}” is “{value}”."
    ),
    Code.SALES_YEN_UNIT: Text("円", "yen"),
    Code.SALES_SUBMIT: Text("確認して見積もる", "Check and quote"),
    Code.SALES_SUBMIT_QUOTE: Text("見積もる", "Quote"),
    Code.SALES_ERROR_SUMMARY: Text(
        "入力内容を確認してください", "Please check the highlighted fields"
    ),
    Code.SALES_ABOUT_CHECK: Text("このチェックについて", "About this check"),
    Code.SALES_ANSWER: Text("答え", "Answer"),
    Code.SALES_VERDICT_POSITIVE: Text("進められます", "Can go ahead"),
    Code.SALES_VERDICT_NEGATIVE: Text("このままでは進められません", "Cannot go ahead as it stands"),
    Code.SALES_VERDICT_UNDECIDABLE: Text("まだ答えを出せません", "No answer yet"),
    Code.SALES_VERDICT_PROVISIONAL: Text(
        "未確認の事項があるため、暫定の答えです。", "Provisional: some questions are still open."
    ),
    Code.SALES_REFERENCE: Text("受付番号", "Reference"),
    Code.SALES_PERMALINK: Text("この答えへのリンク", "Link to this answer"),
    Code.SALES_PRINT: Text("印刷用の表示", "Print view"),
    Code.SALES_NOT_RECORDED: Text(
        "未確認の事項があるため、この答えは記録していません（受付番号はありません）。すべて確認すると記録し、受付番号を表示します。",
        "Some questions are still open, so this answer is not recorded and has no reference. Once every question is answered, it is recorded and given one.",
    ),
    Code.SALES_HOLDS: Text("確認できたこと", "What holds"),
    Code.SALES_HOLDS_NONE: Text("まだ確認できたことはありません。", "Nothing holds yet."),
    Code.SALES_TO_CONFIRM: Text("要確認", "Still to ask"),
    Code.SALES_TO_CONFIRM_INTRO: Text("お客さまに次のことをご確認ください。", "Ask the customer:"),
    Code.SALES_POSSIBLE: Text("答えはそれぞれ次のとおりです。", "The answer in each case:"),
    Code.SALES_IF_THEN: Text("{conditions}なら：{outcome}", "If {conditions}: {outcome}"),
    Code.SALES_CONDITION: Text("「{fact}」が{values}", "“{fact}” is {values}"),
    Code.SALES_AND: Text("、かつ", "; and "),
    Code.SALES_OR: Text("または", " or "),
    Code.SALES_GAPS: Text("資料にない情報", "What the source documents do not say"),
    Code.SALES_ASK_WHOM: Text("確認先：{whom}", "Ask: {whom}"),
    Code.SALES_WHATIF: Text("答えが変わる条件", "What would change the answer"),
    Code.SALES_WHATIF_TO_POSITIVE: Text(
        "次のようになれば進められます。", "The order could go ahead if:"
    ),
    Code.SALES_WHATIF_RISKS: Text(
        "次のどれか1つでも当てはまると、答えが変わります。お申込みの前にご確認ください。",
        "Any one of these would change the answer; re-check them before placing the order:",
    ),
    Code.SALES_WHATIF_NONE: Text(
        "答えを変える条件は見つかりませんでした。",
        "No change of the facts would change the answer.",
    ),
    Code.SALES_CONSEQUENCES: Text("お客さまへのご案内", "What this means for the customer"),
    Code.SALES_SOURCE: Text("根拠：{title} {clause}", "Source: {title}, {clause}"),
    Code.SALES_READING: Text("解釈{reading}による", "under reading {reading}"),
    Code.SALES_RULE_VERSION: Text(
        "判定ルールの版{version}（{start}から有効）・判定日{as_of}",
        "Rule set version {version} (in force from {start}) · decision date {as_of}",
    ),
    Code.SALES_QUOTE: Text("お見積り", "Quote"),
    Code.SALES_QUOTE_CAPTION: Text(
        "料金（{as_of}時点の料金表による）", "Charges (tariffs in force on {as_of})"
    ),
    Code.SALES_COL_ITEM: Text("項目", "Item"),
    Code.SALES_COL_QTY: Text("数量", "Qty"),
    Code.SALES_COL_UNIT: Text("単価", "Unit price"),
    Code.SALES_COL_AMOUNT: Text("金額（税抜）", "Amount before tax"),
    Code.SALES_COL_SOURCE: Text("根拠", "Source"),
    Code.SALES_TOTAL_EXCLUDED: Text("税抜合計", "Total before tax"),
    Code.SALES_TOTAL_TAX: Text("消費税（{rate}％）", "Consumption tax ({rate} %)"),
    Code.SALES_TOTAL_INCLUDED: Text("税込合計", "Total with tax"),
    Code.SALES_YEN: Text("{amount}円", "{amount} yen"),
    Code.SALES_CANNOT_PRICE: Text("算定できません：{missing}", "Cannot be priced: {missing}"),
    Code.SALES_QUOTE_INCOMPLETE: Text(
        "算定できない項目は合計に含まれていません。",
        "Lines that cannot be priced are not in the total.",
    ),
    Code.SALES_PROVENANCE_SOURCED: Text("資料の額", "figure from the sources"),
    Code.SALES_PROVENANCE_INFERRED: Text("資料からの推定", "inferred from the sources"),
    Code.SALES_PROVENANCE_OUTSIDE_FACT: Text(
        "資料外の事実による", "rests on a fact outside the sources"
    ),
    Code.SALES_QUOTE_NOTES: Text("料金の注記", "Notes on the charges"),
    Code.SALES_RECORDED_ANSWER: Text("記録された答え", "Recorded answer"),
    Code.SALES_RECORDED_AT: Text("記録日時：{at}", "Recorded at {at}"),
    Code.SALES_RECORD_NOT_FOUND: Text(
        "受付番号{reference}の記録はありません。",
        "No answer is recorded under reference {reference}.",
    ),
    Code.SALES_SITUATION_NOT_FOUND: Text(
        "「{situation}」というご用件のページはありません。",
        "There is no situation page “{situation}”.",
    ),
    Code.SALES_RECORD_CHANGED: Text(
        "この記録の判定ルールの版{version}は現在読み込まれていないため、記録された結果のみを表示します。",
        "Version {version} of this rule set is no longer loaded; only the recorded result is shown.",
    ),
    Code.SALES_NEW_ANSWER: Text("新しく確認する", "Start a new check"),
    Code.SALES_PRINT_FOOTER: Text(
        "この書面は、資料に基づく確認結果です。最終的な判断はNTT東日本・NTT西日本が行います。",
        "This sheet states what the source documents say about the order; NTT East or NTT West makes the final decision.",
    ),
    Code.SALES_SIT_TV_NEW: Text(
        "テレビ伝送の新規申込み（建物一括契約プラン・工事費・月額料金）",
        "New TV transport application (bulk-building plan, construction, monthly fee)",
    ),
    Code.SALES_SIT_TV_CHARGES: Text(
        "テレビ伝送の料金（工事費・請求書発行・延滞利息・減額など）",
        "TV transport charges (construction, invoices, late interest, outage credit and more)",
    ),
    Code.SALES_SIT_TV_OPERATOR_CHANGE: Text(
        "テレビ伝送の事業者変更", "TV transport: operator change (事業者変更)"
    ),
    Code.SALES_SIT_TV_CONVERSION: Text(
        "テレビ伝送の転用（光コラボ事業者のサービスへ）",
        "TV transport: conversion to a collaboration operator's service (転用)",
    ),
    Code.SALES_SIT_TV_TRANSFER: Text(
        "テレビ伝送の契約の譲渡", "TV transport: transfer of the contract"
    ),
    Code.SALES_SIT_TV_BULK_UNITS: Text(
        "建物一括契約プランの戸数の変更", "Bulk-building plan: change of the unit count"
    ),
    Code.SALES_SIT_TV_BULK_END: Text(
        "建物一括契約プランの廃止（基本適用期間内の廃止の料金）",
        "Bulk-building plan: ending it (early-abolition charge)",
    ),
    Code.SALES_SIT_TV_PAUSE: Text("テレビ伝送の一時中断", "TV transport: temporary interruption"),
    Code.SALES_SIT_TV_STOP: Text(
        "テレビ伝送の利用停止・契約解除（NTT東日本による）",
        "TV transport: suspension or termination by NTT East",
    ),
    Code.SALES_SIT_PASSPORT_MOVE: Text(
        "回線の引っ越し・変更とパスポートIDの継続",
        "Passport ID after a relocation or other line change",
    ),
    Code.SALES_SIT_PASSPORT_USE: Text(
        "パスポートIDの利用・新規登録とご購入",
        "Using or registering a Passport ID, and buying with it",
    ),
    Code.SALES_SIT_PASSPORT_BILLING: Text(
        "請求先番号の変更とまとめて支払いの継続",
        "Passport ID billing after a change of the billing number",
    ),
    Code.SALES_SIT_COLLAB_ORDER: Text("光コラボ回線の注文内容", "A collaboration line's order"),
    Code.SALES_SIT_COLLAB_CONVERSION: Text(
        "フレッツ光から光コラボへの転用", "Conversion (転用) from Flets to a collaboration operator"
    ),
    Code.SALES_SIT_COLLAB_OPERATOR_CHANGE: Text(
        "光コラボ事業者間の事業者変更",
        "Operator change (事業者変更) between collaboration operators",
    ),
    Code.SALES_SIT_COLLAB_SCREENING: Text(
        "光コラボ事業者の提供条件の確認", "Screening a collaboration operator"
    ),
    Code.SALES_SIT_JOINT_APPLY: Text(
        "フレッツ・ジョイントの申込みと料金", "Flets Joint: eligibility and charges"
    ),
    Code.SALES_SIT_MATOMETE_MERCHANT: Text(
        "まとめて支払いの利用条件と加盟店手数料",
        "Bill-aggregation payment: conditions and merchant fee",
    ),
    # --- end sales block
}
