// SPDX-License-Identifier: ISC
// The real Mailpit clients against inletd --sink: send with nodemailer,
// then read and delete with the npm client mailpit-api (2.1.0, pinned in
// package.json).  Usage: node mailpit_client.mjs SMTP_PORT HTTP_PORT.
// Prints one "ok NAME ..." line per call and, last, one line
// "RESULT <json>" with every response for tests/integration/
// test_sinkapi.py to check against Mailpit's field names and types.
// Talks only to 127.0.0.1; every wait is bounded.
import nodemailer from "nodemailer";
import { MailpitClient } from "mailpit-api";

const [smtpPort, httpPort] = process.argv.slice(2).map(Number);
const mailpit = new MailpitClient(`http://127.0.0.1:${httpPort}`);
const out = {};

function ok(name, detail) {
	console.log(`ok ${name} ${detail}`);
}

const transport = nodemailer.createTransport({
	host: "127.0.0.1", port: smtpPort, secure: false, ignoreTLS: true,
});
const info = await transport.sendMail({
	from: '"Node Sender" <node@example.org>',
	to: "Ann <ann@example.org>",
	cc: "cc@example.org",
	bcc: "secret@example.org",
	subject: "nodemailer report ✓",
	text: "Plain text body with a link https://example.org/confirm?t=1",
	html: '<p>HTML body <a href="https://example.org/confirm?t=1">confirm</a></p>',
	attachments: [{ filename: "report.csv", content: "a,b\n1,2\n" }],
});
ok("nodemailer.sendMail", info.response);

out.waitForMessage = await mailpit.waitForMessage(
	{ query: 'subject:"nodemailer report"' }, { timeout: 10000 });
ok("waitForMessage", `ID=${out.waitForMessage.ID} Subject=${out.waitForMessage.Subject}`);

out.listMessages = await mailpit.listMessages();
ok("listMessages", `total=${out.listMessages.total} messages_count=${out.listMessages.messages_count}`);

out.searchMessages = await mailpit.searchMessages({ query: "to:ann@example.org" });
ok("searchMessages", `messages_count=${out.searchMessages.messages_count}`);

const id = out.searchMessages.messages[0].ID;
out.getMessageSummary = await mailpit.getMessageSummary(id);
const m = out.getMessageSummary;
ok("getMessageSummary", `Text=${JSON.stringify(m.Text.slice(0, 40))} HTML=${m.HTML.length}B ` +
	`Attachments=${m.Attachments.map((a) => a.FileName).join(",")} ` +
	`Bcc=${m.Bcc.map((a) => a.Address).join(",")}`);

out.getMessageSource = await mailpit.getMessageSource(id);
ok("getMessageSource", `${out.getMessageSource.length} bytes`);

out.getMessageHeaders = await mailpit.getMessageHeaders(id);
ok("getMessageHeaders", `Subject=${JSON.stringify(out.getMessageHeaders.Subject)}`);

out.renderMessageHTML = await mailpit.renderMessageHTML(id);
ok("renderMessageHTML", `${out.renderMessageHTML.length} bytes`);

out.getInfo = await mailpit.getInfo();
ok("getInfo", `Messages=${out.getInfo.Messages}`);

out.setChaosTriggers = await mailpit.setChaosTriggers({ Sender: { ErrorCode: 451, Probability: 0 } });
out.getChaosTriggers = await mailpit.getChaosTriggers();
ok("getChaosTriggers", JSON.stringify(out.getChaosTriggers));

out.deleteMessages = await mailpit.deleteMessages({ IDs: [id] });
ok("deleteMessages", out.deleteMessages);

out.afterDelete = await mailpit.listMessages();
ok("listMessages", `after delete: total=${out.afterDelete.total}`);

console.log("RESULT " + JSON.stringify(out));
