BEGIN TRANSACTION;
CREATE TABLE account (
	id INTEGER NOT NULL, 
	name VARCHAR(50) NOT NULL, 
	role VARCHAR(32) NOT NULL, 
	active BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);
INSERT INTO "account" VALUES(1,'陶文华','巡察办',1,'2026-12-07 14:38:57.105042');
INSERT INTO "account" VALUES(2,'柳青','巡察办',1,'2026-12-07 14:38:57.105178');
INSERT INTO "account" VALUES(3,'张明','巡察工作领导小组',1,'2026-12-07 14:38:57.105233');
INSERT INTO "account" VALUES(4,'郑文斌','纪委监委',1,'2026-12-07 14:38:57.105280');
INSERT INTO "account" VALUES(5,'吴志刚','组织部',1,'2026-12-07 14:38:57.105324');
INSERT INTO "account" VALUES(6,'许丽','职能部门',1,'2026-12-07 14:38:57.105365');
INSERT INTO "account" VALUES(7,'钱正平','被巡察单位联络员',1,'2026-12-07 14:38:57.105409');
INSERT INTO "account" VALUES(8,'李建国','巡察组组长',1,'2026-12-07 14:38:57.105451');
INSERT INTO "account" VALUES(9,'周卫东','巡察组组长',1,'2026-12-07 14:38:57.105494');
INSERT INTO "account" VALUES(10,'陈晓梅','巡察组组长',1,'2026-12-07 14:38:57.105535');
INSERT INTO "account" VALUES(11,'孙丽娟','巡察组组长',1,'2026-12-07 14:38:57.105575');
INSERT INTO "account" VALUES(12,'马成功','巡察组组长',1,'2026-12-07 14:38:57.105614');
INSERT INTO "account" VALUES(13,'王海燕','巡察组组员',1,'2026-12-07 14:38:57.105652');
INSERT INTO "account" VALUES(14,'赵志强','巡察组组员',1,'2026-12-07 14:38:57.105692');
INSERT INTO "account" VALUES(15,'刘洋','巡察组组员',1,'2026-12-07 14:38:57.105729');
INSERT INTO "account" VALUES(16,'黄磊','巡察组组员',1,'2026-12-07 14:38:57.105766');
INSERT INTO "account" VALUES(17,'林静','巡察组组员',1,'2026-12-07 14:38:57.105805');
INSERT INTO "account" VALUES(18,'郭涛','巡察组组员',1,'2026-12-07 14:38:57.105847');
INSERT INTO "account" VALUES(19,'罗敏','巡察组组员',1,'2026-12-07 14:38:57.105888');
INSERT INTO "account" VALUES(20,'高峰','巡察组组员',1,'2026-12-07 14:38:57.105928');
CREATE TABLE accountability (
	id INTEGER NOT NULL, 
	look_back_id INTEGER NOT NULL, 
	unit_id INTEGER NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	target VARCHAR(100) NOT NULL, 
	reason VARCHAR(1000) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(look_back_id) REFERENCES look_back (id), 
	FOREIGN KEY(unit_id) REFERENCES unit (id)
);
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('0010');
CREATE TABLE alert (
	id INTEGER NOT NULL, 
	dedupe_key VARCHAR(200) NOT NULL, 
	role VARCHAR(40) NOT NULL, 
	channel VARCHAR(20) NOT NULL, 
	recipient VARCHAR(500) NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	body VARCHAR(4000) NOT NULL, 
	link VARCHAR(500) NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	attempts INTEGER NOT NULL, 
	last_error VARCHAR(1000) NOT NULL, 
	next_attempt_at DATETIME NOT NULL, 
	created_at DATETIME NOT NULL, 
	sent_at DATETIME, secret VARCHAR(500) DEFAULT '' NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (dedupe_key, recipient)
);
INSERT INTO "alert" VALUES(1,'insp:1:prepare','team_leader','json','json://127.0.0.1:8765/team/li','【巡察准备】组成人员已拟定','2026年第一轮巡察·城东街道：巡察工作方案和组成人员已报领导小组审批。','','待发送',0,'','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,'');
INSERT INTO "alert" VALUES(2,'insp:1:station','team_leader','json','json://127.0.0.1:8765/team/li','【进驻】巡察组进驻','2026年第一轮巡察·城东街道：方案已批准，巡察组进驻开展集中巡察。请在系统中登记发现的问题。','','待发送',0,'','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,'');
INSERT INTO "alert" VALUES(3,'insp:1:station-unit','unit_secretary','json','json://127.0.0.1:8765/unit/chengdong','【巡察进驻通知】','2026年第一轮巡察·城东街道：巡察组将于2026年12月01日进驻，请做好配合工作。','','待发送',0,'','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,'');
INSERT INTO "alert" VALUES(4,'gate:1:ask','team_leader','json','json://127.0.0.1:8765/team/li','【待审批】巡察组提交报告','2026年第一轮巡察·城东街道：“巡察组提交报告”等待您办理（第1次）。
验证码：⟦code⟧（72小时内有效，仅限本人办理本次审批时填写）

查看与办理：http://127.0.0.1:4200/runs/flow-run/00000000-0000-4000-8000-000000000001','http://127.0.0.1:4200/runs/flow-run/00000000-0000-4000-8000-000000000001','待发送',0,'','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,'gAAAAABrFlSBkZSEuDay3nIaN_lX35CvYkZfXlAScOBHDOUGMzGNRpRZnRaTyBjUWXPKRxrQIwExkj3xHwYx2Aok7YUdaaIWWA==');
INSERT INTO "alert" VALUES(5,'insp:2:prepare','team_leader','json','json://127.0.0.1:8765/team/li','【巡察准备】组成人员已拟定','2026年第一轮巡察·区教育局：巡察工作方案和组成人员已报领导小组审批。','','待发送',0,'','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,'');
INSERT INTO "alert" VALUES(6,'insp:2:station','team_leader','json','json://127.0.0.1:8765/team/li','【进驻】巡察组进驻','2026年第一轮巡察·区教育局：方案已批准，巡察组进驻开展集中巡察。请在系统中登记发现的问题。','','待发送',0,'','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,'');
INSERT INTO "alert" VALUES(7,'insp:2:station-unit','unit_secretary','','','【巡察进驻通知】','2026年第一轮巡察·区教育局：巡察组将于2026年12月01日进驻，请做好配合工作。','','无接收人',0,'未配置“被巡察单位党组织书记”的接收人','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,'');
INSERT INTO "alert" VALUES(8,'insp:2:report:1','leading_group','json','json://127.0.0.1:8765/leading-group','【待审议】巡察报告','2026年第一轮巡察·区教育局：巡察组已提交巡察报告（共3个问题），请审议。','','待发送',0,'','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,'');
INSERT INTO "alert" VALUES(9,'insp:2:feedback','unit_secretary','','','【巡察反馈】请抓好整改','2026年第一轮巡察·区教育局：巡察反馈意见已印发，共3个问题，请60日内报送整改情况。','','无接收人',0,'未配置“被巡察单位党组织书记”的接收人','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,'');
INSERT INTO "alert" VALUES(10,'clue-letter:1','discipline_commission','json','json://127.0.0.1:8765/jiwei','【线索移交】请签收','您有1件新移交线索（巡察〔2026〕移2-1号，移交函编号1），请于12月04日前签收办理。
签收码：⟦code⟧（签收时填写，仅限本单位使用）

查看与办理：http://127.0.0.1:4200/office/letters','http://127.0.0.1:4200/office/letters','待发送',0,'','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,'gAAAAABrFlSCIzgOCA4BK2h5UKX7TttVb8TiQPTXIOS-MACtwhGLY1gpfhsxJ04O2yTMnFi4oUYcaGFTH7g6L4618Nfolj3KtQ==');
INSERT INTO "alert" VALUES(11,'insp:2:rectify','unit_secretary','','','【整改通知】','2026年第一轮巡察·区教育局：共2项整改任务，整改期限至2027年01月30日，请按时报送整改进展。','','无接收人',0,'未配置“被巡察单位党组织书记”的接收人','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,'');
INSERT INTO "alert" VALUES(12,'insp:2:rectify-liaison','liaison_leader','json','json://127.0.0.1:8765/leader/wu','【落实巡察整改工作责任建议书】','2026年第一轮巡察·区教育局：请对1项个性问题整改进行跟踪督办，定期听取整改推进情况。','','待发送',0,'','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,'');
INSERT INTO "alert" VALUES(13,'insp:2:plan-notice','unit_secretary','','','【请报送整改方案】','2026年第一轮巡察·区教育局：请于2026年12月16日前（反馈后15日内）报送整改方案：在本单位的“整改事项”页面（见下方链接）或部署“报送整改方案”的表单中逐项填写整改措施、责任人和完成时限，报巡察办审核；审核通过后按方案整改并报送整改进展。整改事项共2项（表单中填写编号或问题描述均可）：
1 公务接待超标准，存在违规报销招待费问题
2 干部选拔任用程序不规范，个别岗位未经民主推荐','','无接收人',0,'未配置“被巡察单位党组织书记”的接收人','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,'');
INSERT INTO "alert" VALUES(14,'fixture:no-recipient','leader_in_charge','','','【共性问题领办】测试','领办通知','','无接收人',0,'未配置“分管领导”的接收人','2026-12-01 09:00:00.000000','2026-12-01 09:00:00.000000',NULL,'');
CREATE TABLE "approval" (
	id INTEGER NOT NULL, 
	round_id INTEGER, 
	inspection_id INTEGER, 
	gate VARCHAR(32) NOT NULL, 
	attempt INTEGER NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	decision VARCHAR(40) NOT NULL, 
	approver VARCHAR(50) NOT NULL, 
	comment VARCHAR(2000) NOT NULL, 
	flow_run_id VARCHAR(40), 
	requested_at DATETIME NOT NULL, 
	decided_at DATETIME, 
	reminders_sent INTEGER NOT NULL, 
	code_hash VARCHAR(64) NOT NULL, 
	code_expires_at DATETIME, 
	codes_issued INTEGER NOT NULL, 
	code_failures INTEGER NOT NULL, 
	term_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT fk_approval_term_id_term_plan FOREIGN KEY(term_id) REFERENCES term_plan (id), 
	FOREIGN KEY(inspection_id) REFERENCES inspection (id), 
	FOREIGN KEY(round_id) REFERENCES inspection_round (id), 
	UNIQUE (round_id, inspection_id, gate, attempt)
);
INSERT INTO "approval" VALUES(1,1,1,'巡察组提交报告',1,'待审批','','','','00000000-0000-4000-8000-000000000001','2026-12-01 09:00:00.000000',NULL,0,'k1:BB7KSBC55BVzqVr1sB-p6V7P1kPdJhm_7jnEOkYjSFM','2026-12-04 09:00:00.000000',1,0,NULL);
CREATE TABLE audit_event (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR(50) NOT NULL, 
	action VARCHAR(50) NOT NULL, 
	entity VARCHAR(40) NOT NULL, 
	entity_id INTEGER, 
	detail JSON, 
	prev_hash VARCHAR(64) NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "audit_event" VALUES(1,'2026-12-01 09:00:00.000000','领导小组','方案审批','round',1,'{"status": "\u8fdb\u884c\u4e2d"}','','17dd397f02a0f31a347498aa6d401379e1c3b8f9aea6910321a3b895a0a4b465');
INSERT INTO "audit_event" VALUES(2,'2026-12-01 09:00:00.000000','系统','阶段变更','inspection',1,'{"from": "\u5de1\u5bdf\u51c6\u5907", "to": "\u96c6\u4e2d\u5de1\u5bdf"}','17dd397f02a0f31a347498aa6d401379e1c3b8f9aea6910321a3b895a0a4b465','8921c7ace9fe99f2e8a46ae66426de3abc0fd60d07df23fb8360463b4ed87182');
INSERT INTO "audit_event" VALUES(3,'2026-12-01 09:00:00.000000','组长','登记问题','inspection',1,'{"count": 3, "already_recorded": 0}','8921c7ace9fe99f2e8a46ae66426de3abc0fd60d07df23fb8360463b4ed87182','fd8a34b520d74cd55341fb716c328d8a1f6c949f1353b64ba6a12188d47ecc0a');
INSERT INTO "audit_event" VALUES(4,'2026-12-01 09:00:00.000000','李建国','受理信访举报','petition',1,'{"channel": "\u6765\u4fe1", "anonymous": false}','fd8a34b520d74cd55341fb716c328d8a1f6c949f1353b64ba6a12188d47ecc0a','f7ac061b54545878b6f73f9b7a993c9b101dec652639a34947a84d0b832e5a84');
INSERT INTO "audit_event" VALUES(5,'2026-12-01 09:00:00.000000','系统','审批发起','approval',1,'{"gate": "\u5de1\u5bdf\u7ec4\u63d0\u4ea4\u62a5\u544a", "attempt": 1}','f7ac061b54545878b6f73f9b7a993c9b101dec652639a34947a84d0b832e5a84','e7e1de64c36ea59c5179f90b01f25c0f2162a36281f24b73fffe2d2ac72f2bd8');
INSERT INTO "audit_event" VALUES(6,'2026-12-01 09:00:00.000000','系统','阶段变更','inspection',2,'{"from": "\u5de1\u5bdf\u51c6\u5907", "to": "\u96c6\u4e2d\u5de1\u5bdf"}','e7e1de64c36ea59c5179f90b01f25c0f2162a36281f24b73fffe2d2ac72f2bd8','d3dcca03f14085bce04aaca8c106b1efe6ddf0f1b147e934b48c0469722c96cc');
INSERT INTO "audit_event" VALUES(7,'2026-12-01 09:00:00.000000','组长','登记问题','inspection',2,'{"count": 3, "already_recorded": 0}','d3dcca03f14085bce04aaca8c106b1efe6ddf0f1b147e934b48c0469722c96cc','cb1b30ba141022f790528e37ebb6bfdfda47eac18fc23cd392f6ee727e8093bb');
INSERT INTO "audit_event" VALUES(8,'2026-12-01 09:00:00.000000','组长','登记线索','clue',1,'{"kind": "\u8fdd\u7eaa\u8fdd\u6cd5\u7ebf\u7d22"}','cb1b30ba141022f790528e37ebb6bfdfda47eac18fc23cd392f6ee727e8093bb','fd317f42912e6666062604c7af91ccf3c3aea866e8b0e50a154053864f5aa327');
INSERT INTO "audit_event" VALUES(9,'2026-12-01 09:00:00.000000','组长','阶段变更','inspection',2,'{"from": "\u96c6\u4e2d\u5de1\u5bdf", "to": "\u62a5\u544a\u5de1\u5bdf"}','fd317f42912e6666062604c7af91ccf3c3aea866e8b0e50a154053864f5aa327','b53d4dc9f35c3d60a5c8d2bcec177e7e8dd41338bc5363854fb3dd9d9e25d9c5');
INSERT INTO "audit_event" VALUES(10,'2026-12-01 09:00:00.000000','领导小组','阶段变更','inspection',2,'{"from": "\u62a5\u544a\u5de1\u5bdf", "to": "\u5de1\u5bdf\u53cd\u9988"}','b53d4dc9f35c3d60a5c8d2bcec177e7e8dd41338bc5363854fb3dd9d9e25d9c5','d0f81cebd55ba8f0001a782cc0d23969c911d2eb66a8e49e0b99ca359738ee0e');
INSERT INTO "audit_event" VALUES(11,'2026-12-01 09:00:00.000000','系统','阶段变更','inspection',2,'{"from": "\u5de1\u5bdf\u53cd\u9988", "to": "\u7ebf\u7d22\u79fb\u4ea4"}','d0f81cebd55ba8f0001a782cc0d23969c911d2eb66a8e49e0b99ca359738ee0e','2e650dc489854277dd9799c512c38e72cd0c5cd2b1842f877ca5e2831f82ad01');
INSERT INTO "audit_event" VALUES(12,'2026-12-01 09:00:00.000000','领导小组','线索移交','clue_letter',1,'{"receiver": "discipline_commission", "clues": [1], "batch": "stage"}','2e650dc489854277dd9799c512c38e72cd0c5cd2b1842f877ca5e2831f82ad01','8903aaf64785d19a45d0df30007c1adb3d991dda3399480e1cfd56f02f9f269b');
INSERT INTO "audit_event" VALUES(13,'2026-12-01 09:00:00.000000','系统','阶段变更','inspection',2,'{"from": "\u7ebf\u7d22\u79fb\u4ea4", "to": "\u7763\u4fc3\u6574\u6539"}','8903aaf64785d19a45d0df30007c1adb3d991dda3399480e1cfd56f02f9f269b','23f521ffb4027633516700fec5c7f73493afbfa182d1e7f022f0c7e1bab861d2');
CREATE TABLE clue (
	id INTEGER NOT NULL, 
	inspection_id INTEGER NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	summary VARCHAR(4000) NOT NULL, 
	urgent BOOLEAN NOT NULL, 
	receiver VARCHAR(40) NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	letter_id INTEGER, 
	transferred_at DATETIME, 
	result VARCHAR(32), 
	result_note VARCHAR(2000) NOT NULL, 
	result_at DATETIME, 
	result_due_on DATE, 
	closed_at DATETIME, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(inspection_id) REFERENCES inspection (id), 
	FOREIGN KEY(letter_id) REFERENCES clue_letter (id)
);
INSERT INTO "clue" VALUES(1,2,'违纪违法线索','区教育局某科长收受礼金',0,'discipline_commission','已移交',1,'2026-12-01 09:00:00.000000',NULL,'',NULL,NULL,NULL,'2026-12-01 09:00:00.000000');
CREATE TABLE clue_letter (
	id INTEGER NOT NULL, 
	inspection_id INTEGER NOT NULL, 
	receiver VARCHAR(40) NOT NULL, 
	batch VARCHAR(40) NOT NULL, 
	doc_no VARCHAR(80) NOT NULL, 
	clue_count INTEGER NOT NULL, 
	sent_at DATETIME NOT NULL, 
	ack_due_on DATE NOT NULL, 
	acknowledged_at DATETIME, 
	acknowledged_by VARCHAR(50) NOT NULL, 
	reminders_sent INTEGER NOT NULL, code_hash VARCHAR(64) DEFAULT '' NOT NULL, code_failures INTEGER DEFAULT '0' NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(inspection_id) REFERENCES inspection (id), 
	UNIQUE (inspection_id, receiver, batch)
);
INSERT INTO "clue_letter" VALUES(1,2,'discipline_commission','stage','巡察〔2026〕移2-1号',1,'2026-12-01 09:00:00.000000','2026-12-04',NULL,'',0,'k1:G477Z0yVlbrLr7R1A2qTpgis6Gtj07SbsujqGnFKlsY',0);
CREATE TABLE common_grouping (
	id INTEGER NOT NULL, 
	round_id INTEGER NOT NULL, 
	attempt INTEGER NOT NULL, 
	finding_ids JSON, 
	status VARCHAR(32) NOT NULL, 
	flow_run_id VARCHAR(40), 
	registered_at DATETIME NOT NULL, 
	confirmed_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(round_id) REFERENCES inspection_round (id), 
	UNIQUE (round_id, attempt)
);
CREATE TABLE common_problem (
	id INTEGER NOT NULL, 
	round_id INTEGER NOT NULL, 
	category VARCHAR(50) NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	leader_in_charge VARCHAR(50) NOT NULL, 
	departments JSON, 
	confirmed_by VARCHAR(50) NOT NULL, 
	created_at DATETIME NOT NULL, status VARCHAR(32) DEFAULT '督办中' NOT NULL, closed_at DATETIME, closed_by VARCHAR(50) DEFAULT '' NOT NULL, letter_version INTEGER DEFAULT '1' NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(round_id) REFERENCES inspection_round (id)
);
CREATE TABLE "conflict" (
	id INTEGER NOT NULL, 
	person_id INTEGER NOT NULL, 
	unit_id INTEGER NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	note VARCHAR(200) NOT NULL, ended_year INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(person_id) REFERENCES person (id), 
	FOREIGN KEY(unit_id) REFERENCES unit (id), 
	UNIQUE (person_id, unit_id, kind)
);
INSERT INTO "conflict" VALUES(1,8,5,'原工作单位','2022年前在该局工作',NULL);
INSERT INTO "conflict" VALUES(2,9,2,'亲属任职','配偶在该街道任职',NULL);
INSERT INTO "conflict" VALUES(3,11,13,'申报回避','本人申报',NULL);
INSERT INTO "conflict" VALUES(4,15,12,'原工作单位','',NULL);
CREATE TABLE credential (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	password_hash VARCHAR(200) NOT NULL, 
	must_change BOOLEAN NOT NULL, 
	failures INTEGER NOT NULL, 
	locked_until DATETIME, 
	totp_secret_enc VARCHAR(500) NOT NULL, 
	totp_enrolled_at DATETIME, 
	totp_last_step INTEGER NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(account_id) REFERENCES account (id), 
	UNIQUE (account_id)
);
CREATE TABLE document (
	id INTEGER NOT NULL, 
	round_id INTEGER NOT NULL, 
	inspection_id INTEGER, 
	kind VARCHAR(50) NOT NULL, 
	version INTEGER NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	path VARCHAR(500) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(inspection_id) REFERENCES inspection (id), 
	FOREIGN KEY(round_id) REFERENCES inspection_round (id), 
	UNIQUE (inspection_id, kind, version)
);
INSERT INTO "document" VALUES(1,1,1,'巡察公告',1,'关于对城东街道党组织开展巡察的公告','/tmp/release-fixture-geng99lo/documents/round-1/inspection-1/巡察公告.docx','ae387b8031f145f1312e26bd265cef6fdbc867dffd44f8728b423fdd42c7a884','2026-12-01 09:00:00.000000');
INSERT INTO "document" VALUES(2,1,2,'巡察公告',1,'关于对区教育局党组织开展巡察的公告','/tmp/release-fixture-geng99lo/documents/round-1/inspection-2/巡察公告.docx','1bea1f4451cbc0442c7f6982a6a2e33e17c05085a17eae19b48bdb1a5a702490','2026-12-01 09:00:00.000000');
INSERT INTO "document" VALUES(3,1,2,'巡察报告',1,'关于巡察区教育局党组织的情况报告','/tmp/release-fixture-geng99lo/documents/round-1/inspection-2/巡察报告.docx','d4cfa768ecddfeeb796d592d7b496535c0e149c102125918c0e5ae2321191148','2026-12-01 09:00:00.000000');
INSERT INTO "document" VALUES(4,1,2,'巡察反馈意见',1,'关于巡察区教育局党组织的反馈意见','/tmp/release-fixture-geng99lo/documents/round-1/inspection-2/巡察反馈意见.docx','df824c9947b8e7ab0456620d61424089a1fdb1e27d60076863f951cc7812b431','2026-12-01 09:00:00.000000');
INSERT INTO "document" VALUES(5,1,2,'线索移交函-纪委监委',1,'问题线索移交函','/tmp/release-fixture-geng99lo/documents/round-1/inspection-2/线索移交函-纪委监委.docx','e7d1bc4e32ce02945bb898f3832290f2efd2af0435e9015a8e9f341d57c5fba4','2026-12-01 09:00:00.000000');
INSERT INTO "document" VALUES(6,1,2,'整改通知书',1,'关于区教育局巡察整改工作的通知书','/tmp/release-fixture-geng99lo/documents/round-1/inspection-2/整改通知书.docx','58eb64b9c48feb71e27f97041dcbe8bb93d18cd84ec723248ce8d23f52c96fe2','2026-12-01 09:00:00.000000');
INSERT INTO "document" VALUES(7,1,2,'落实巡察整改工作责任建议书',1,'落实巡察整改工作责任建议书','/tmp/release-fixture-geng99lo/documents/round-1/inspection-2/落实巡察整改工作责任建议书.docx','8abe0200c49cf9a1a0d014668b281041794c73437358ae3aa05c0ac633f8ce06','2026-12-01 09:00:00.000000');
CREATE TABLE "finding" (
	id INTEGER NOT NULL, 
	inspection_id INTEGER NOT NULL, 
	category VARCHAR(50) NOT NULL, 
	description VARCHAR(2000) NOT NULL, 
	evidence VARCHAR(2000) NOT NULL, 
	scope VARCHAR(32) NOT NULL, 
	fixed_on_site BOOLEAN NOT NULL, 
	search_count INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	content_hash VARCHAR(64), 
	corrected_at DATETIME, common_problem_id INTEGER REFERENCES common_problem (id), 
	PRIMARY KEY (id), 
	CONSTRAINT uq_finding_inspection_id_content_hash UNIQUE (inspection_id, content_hash), 
	FOREIGN KEY(inspection_id) REFERENCES inspection (id)
);
INSERT INTO "finding" VALUES(1,1,'全面从严治党','公务接待超标准，存在违规报销招待费问题','财务凭证2026-031','个性问题',0,1,'2026-12-01 09:00:00.000000','72caf2503cfe0a9fcd3c9119937663f9c20435fc98d6e1ca6d7ee552df7891fd',NULL,NULL);
INSERT INTO "finding" VALUES(2,1,'选人用人','干部选拔任用程序不规范，个别岗位未经民主推荐','','共性问题',0,1,'2026-12-01 09:00:00.000000','08c73dcf6cb5b7f19ca8ce550722e0b1337591845cbdeeafefbc6578f58e0d1f',NULL,NULL);
INSERT INTO "finding" VALUES(3,1,'党的建设','党务公开栏内容长期未更新','','个性问题',1,1,'2026-12-01 09:00:00.000000','78b976d21be424396238f985911ff3e49e2c57d1acafa6b7a57c9255fb1e063c',NULL,NULL);
INSERT INTO "finding" VALUES(4,2,'全面从严治党','公务接待超标准，存在违规报销招待费问题','财务凭证2026-031','个性问题',0,1,'2026-12-01 09:00:00.000000','72caf2503cfe0a9fcd3c9119937663f9c20435fc98d6e1ca6d7ee552df7891fd',NULL,NULL);
INSERT INTO "finding" VALUES(5,2,'选人用人','干部选拔任用程序不规范，个别岗位未经民主推荐','','共性问题',0,1,'2026-12-01 09:00:00.000000','08c73dcf6cb5b7f19ca8ce550722e0b1337591845cbdeeafefbc6578f58e0d1f',NULL,NULL);
INSERT INTO "finding" VALUES(6,2,'党的建设','党务公开栏内容长期未更新','','个性问题',1,1,'2026-12-01 09:00:00.000000','78b976d21be424396238f985911ff3e49e2c57d1acafa6b7a57c9255fb1e063c',NULL,NULL);
CREATE TABLE gate_receipt (
	id INTEGER NOT NULL, 
	approval_id INTEGER NOT NULL, 
	flow_run_id VARCHAR(40) NOT NULL, 
	pause_key VARCHAR(100) NOT NULL, 
	person VARCHAR(50) NOT NULL, 
	at DATETIME NOT NULL, 
	mac VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(approval_id) REFERENCES approval (id)
);
CREATE TABLE holiday_year (
	year INTEGER NOT NULL, 
	festivals JSON, 
	entered_by VARCHAR(50) NOT NULL, 
	entered_at DATETIME NOT NULL, 
	PRIMARY KEY (year)
);
CREATE TABLE inspection (
	id INTEGER NOT NULL, 
	round_id INTEGER NOT NULL, 
	unit_id INTEGER NOT NULL, 
	team_id INTEGER NOT NULL, 
	stage VARCHAR(32) NOT NULL, 
	search_count INTEGER NOT NULL, 
	flow_run_id VARCHAR(40), 
	feedback_date DATE, 
	formal_report_at DATETIME, 
	plan_submitted_at DATETIME, 
	plan_approved_at DATETIME, 
	archived_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(round_id) REFERENCES inspection_round (id), 
	FOREIGN KEY(team_id) REFERENCES team (id), 
	FOREIGN KEY(unit_id) REFERENCES unit (id), 
	UNIQUE (round_id, unit_id)
);
INSERT INTO "inspection" VALUES(1,1,1,1,'集中巡察',1,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO "inspection" VALUES(2,1,6,1,'督促整改',1,NULL,'2026-12-01',NULL,NULL,NULL,NULL);
INSERT INTO "inspection" VALUES(3,1,12,1,'巡察准备',1,NULL,NULL,NULL,NULL,NULL,NULL);
CREATE TABLE inspection_notice (
	id INTEGER NOT NULL, 
	inspection_id INTEGER NOT NULL, 
	kind VARCHAR(40) NOT NULL, 
	as_of DATE NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(inspection_id) REFERENCES inspection (id), 
	UNIQUE (inspection_id, kind)
);
CREATE TABLE inspection_round (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	start_date DATE NOT NULL, 
	end_date DATE NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	flow_run_id VARCHAR(40), 
	created_at DATETIME NOT NULL, exclusions JSON, 
	PRIMARY KEY (id)
);
INSERT INTO "inspection_round" VALUES(1,'2026年第一轮巡察','常规巡察','2026-12-01','2026-12-31','进行中',NULL,'2026-12-01 09:00:00.000000','{}');
CREATE TABLE login_session (
	id INTEGER NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	account_id INTEGER NOT NULL, 
	stage VARCHAR(20) NOT NULL, 
	pending_secret_enc VARCHAR(500) NOT NULL, 
	created_at DATETIME NOT NULL, 
	last_active_at DATETIME NOT NULL, 
	ended_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(account_id) REFERENCES account (id), 
	UNIQUE (token_hash)
);
CREATE TABLE look_back (
	id INTEGER NOT NULL, 
	source_inspection_id INTEGER NOT NULL, 
	unit_id INTEGER NOT NULL, 
	cause VARCHAR(40) NOT NULL, 
	detail VARCHAR(500) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	team JSON, 
	flow_run_id VARCHAR(40), 
	triggered_on DATE NOT NULL, 
	finished_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(source_inspection_id) REFERENCES inspection (id), 
	FOREIGN KEY(unit_id) REFERENCES unit (id), 
	UNIQUE (source_inspection_id)
);
CREATE TABLE look_back_check (
	id INTEGER NOT NULL, 
	look_back_id INTEGER NOT NULL, 
	item_id INTEGER NOT NULL, 
	result VARCHAR(20) NOT NULL, 
	note VARCHAR(2000) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(item_id) REFERENCES rectification_item (id), 
	FOREIGN KEY(look_back_id) REFERENCES look_back (id), 
	UNIQUE (look_back_id, item_id)
);
CREATE TABLE "person" (
	id INTEGER NOT NULL, 
	name VARCHAR(50) NOT NULL, 
	unit_id INTEGER, 
	title VARCHAR(100) NOT NULL, 
	specialties JSON, 
	pools JSON, 
	contact VARCHAR(500) NOT NULL, 
	available BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT fk_person_unit_id_unit FOREIGN KEY(unit_id) REFERENCES unit (id)
);
INSERT INTO "person" VALUES(1,'吴志刚',NULL,'区委常委、组织部部长','[]','["\u5206\u7ba1\u9886\u5bfc"]','json://127.0.0.1:8765/leader/wu',1);
INSERT INTO "person" VALUES(2,'郑文斌',NULL,'区委常委、区纪委书记','[]','["\u5206\u7ba1\u9886\u5bfc"]','json://127.0.0.1:8765/leader/zheng',1);
INSERT INTO "person" VALUES(3,'李建国',10,'四级调研员','["\u7ec4\u7ec7"]','["\u7ec4\u957f\u5e93"]','json://127.0.0.1:8765/team/li',1);
INSERT INTO "person" VALUES(4,'周卫东',6,'四级调研员','["\u7eaa\u68c0"]','["\u7ec4\u957f\u5e93"]','json://127.0.0.1:8765/team/zhou',1);
INSERT INTO "person" VALUES(5,'陈晓梅',11,'审计科长','["\u5ba1\u8ba1", "\u8d22\u52a1"]','["\u7ec4\u957f\u5e93", "\u4eba\u624d\u5e93"]','',1);
INSERT INTO "person" VALUES(6,'孙丽娟',8,'副局长','["\u5de5\u7a0b"]','["\u7ec4\u957f\u5e93", "\u4eba\u624d\u5e93"]','',1);
INSERT INTO "person" VALUES(7,'马成功',9,'四级调研员','["\u7ec4\u7ec7"]','["\u7ec4\u957f\u5e93"]','',1);
INSERT INTO "person" VALUES(8,'王海燕',11,'审计员','["\u5ba1\u8ba1"]','["\u4eba\u624d\u5e93"]','',1);
INSERT INTO "person" VALUES(9,'赵志强',7,'财务科长','["\u8d22\u52a1"]','["\u4eba\u624d\u5e93"]','',1);
INSERT INTO "person" VALUES(10,'刘洋',8,'工程师','["\u5de5\u7a0b"]','["\u4eba\u624d\u5e93"]','',1);
INSERT INTO "person" VALUES(11,'黄磊',6,'法制科长','["\u6cd5\u5f8b"]','["\u4eba\u624d\u5e93"]','',1);
INSERT INTO "person" VALUES(12,'林静',10,'宣传干事','["\u5ba3\u4f20"]','["\u4eba\u624d\u5e93"]','',1);
INSERT INTO "person" VALUES(13,'郭涛',9,'组织员','["\u7ec4\u7ec7"]','["\u4eba\u624d\u5e93"]','',1);
INSERT INTO "person" VALUES(14,'罗敏',3,'纪工委干部','["\u7eaa\u68c0"]','["\u4eba\u624d\u5e93"]','',1);
INSERT INTO "person" VALUES(15,'高峰',14,'财务主管','["\u8d22\u52a1"]','["\u4eba\u624d\u5e93"]','',1);
CREATE TABLE petition (
	id INTEGER NOT NULL, 
	inspection_id INTEGER NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	content VARCHAR(4000) NOT NULL, 
	anonymous BOOLEAN NOT NULL, 
	informant_enc VARCHAR(2000) NOT NULL, 
	received_at DATETIME NOT NULL, 
	recorded_by VARCHAR(50) NOT NULL, 
	clue_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(clue_id) REFERENCES clue (id), 
	FOREIGN KEY(inspection_id) REFERENCES inspection (id)
);
INSERT INTO "petition" VALUES(1,1,'来信','反映城东街道公务用车私用问题',0,'gAAAAABrFlSBcIYbseqy80N8cET5pQsaujmme0cEF8czhWe46nRLC7wwSlccp1P2d9jJ2NjmWIHNxtlMIkm6Ixncd0w6qTTYDL843p7-MkXxBQ4HX11z98K-vUk9AhYU732DBj12zxAG','2026-12-01 09:00:00.000000','李建国',NULL);
CREATE TABLE planned_unit (
	id INTEGER NOT NULL, 
	term_id INTEGER NOT NULL, 
	unit_id INTEGER NOT NULL, 
	year INTEGER NOT NULL, 
	number INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(term_id) REFERENCES term_plan (id), 
	FOREIGN KEY(unit_id) REFERENCES unit (id), 
	UNIQUE (term_id, unit_id)
);
CREATE TABLE progress_report (
	id INTEGER NOT NULL, 
	item_id INTEGER NOT NULL, 
	reported_at DATETIME NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	measure_taken VARCHAR(2000) NOT NULL, 
	evidence VARCHAR(2000) NOT NULL, 
	rules_made INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(item_id) REFERENCES rectification_item (id)
);
CREATE TABLE provisional_deadline (
	id INTEGER NOT NULL, 
	entity VARCHAR(40) NOT NULL, 
	entity_id INTEGER NOT NULL, 
	"column" VARCHAR(40) NOT NULL, 
	start DATE NOT NULL, 
	days INTEGER NOT NULL, 
	due DATE NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (entity, entity_id, "column")
);
CREATE TABLE public_hit (
	id INTEGER NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	client VARCHAR(64) NOT NULL, 
	at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE public_report (
	id INTEGER NOT NULL, 
	petition_id INTEGER NOT NULL, 
	code_hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(petition_id) REFERENCES petition (id), 
	UNIQUE (petition_id), 
	UNIQUE (code_hash)
);
CREATE TABLE rectification_item (
	id INTEGER NOT NULL, 
	inspection_id INTEGER NOT NULL, 
	finding_id INTEGER NOT NULL, 
	measure VARCHAR(2000) NOT NULL, 
	owner VARCHAR(50) NOT NULL, 
	responsible_leader_id INTEGER, 
	deadline DATE NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	closed_at DATETIME, 
	supervisor VARCHAR(50) NOT NULL, 
	supervise_every_days INTEGER NOT NULL, 
	evidence VARCHAR(2000) NOT NULL, 
	rules_made INTEGER NOT NULL, 
	common_problem_id INTEGER, 
	next_rung INTEGER NOT NULL, 
	next_action_on DATE, 
	ladder_cycle INTEGER NOT NULL, 
	last_report_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(common_problem_id) REFERENCES common_problem (id), 
	FOREIGN KEY(finding_id) REFERENCES finding (id), 
	FOREIGN KEY(inspection_id) REFERENCES inspection (id), 
	FOREIGN KEY(responsible_leader_id) REFERENCES person (id), 
	UNIQUE (finding_id)
);
INSERT INTO "rectification_item" VALUES(1,2,4,'','沈红梅',1,'2027-01-30','未开始',NULL,'吴志刚',30,'',0,NULL,0,'2027-01-23',0,NULL);
INSERT INTO "rectification_item" VALUES(2,2,5,'','沈红梅',NULL,'2027-01-30','未开始',NULL,'',30,'',0,NULL,0,'2027-01-23',0,NULL);
CREATE TABLE rolerecipient (
	id INTEGER NOT NULL, 
	role VARCHAR(40) NOT NULL, 
	url VARCHAR(500) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (role, url)
);
INSERT INTO "rolerecipient" VALUES(1,'office','json://127.0.0.1:8765/office');
INSERT INTO "rolerecipient" VALUES(2,'leading_group','json://127.0.0.1:8765/leading-group');
INSERT INTO "rolerecipient" VALUES(3,'discipline_commission','json://127.0.0.1:8765/jiwei');
INSERT INTO "rolerecipient" VALUES(4,'organisation_department','json://127.0.0.1:8765/zuzhibu');
INSERT INTO "rolerecipient" VALUES(5,'responsible_department','json://127.0.0.1:8765/department');
INSERT INTO "rolerecipient" VALUES(6,'functional_department','json://127.0.0.1:8765/department');
CREATE TABLE run_recovery (
	id INTEGER NOT NULL, 
	flow_run_id VARCHAR(40) NOT NULL, 
	flow_run_name VARCHAR(200) NOT NULL, 
	attempts INTEGER NOT NULL, 
	last_at DATETIME NOT NULL, 
	gave_up BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (flow_run_id)
);
CREATE TABLE supervision_notice (
	id INTEGER NOT NULL, 
	item_id INTEGER NOT NULL, 
	inspection_id INTEGER NOT NULL, 
	ladder_cycle INTEGER NOT NULL, 
	rung INTEGER NOT NULL, 
	due_on DATE NOT NULL, 
	as_of DATE NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(inspection_id) REFERENCES inspection (id), 
	FOREIGN KEY(item_id) REFERENCES rectification_item (id), 
	UNIQUE (item_id, ladder_cycle, rung)
);
CREATE TABLE team (
	id INTEGER NOT NULL, 
	round_id INTEGER NOT NULL, 
	name VARCHAR(50) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(round_id) REFERENCES inspection_round (id), 
	UNIQUE (round_id, name)
);
INSERT INTO "team" VALUES(1,1,'第一巡察组');
CREATE TABLE team_member (
	id INTEGER NOT NULL, 
	team_id INTEGER NOT NULL, 
	person_id INTEGER NOT NULL, 
	role VARCHAR(32) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(person_id) REFERENCES person (id), 
	FOREIGN KEY(team_id) REFERENCES team (id), 
	UNIQUE (team_id, person_id)
);
INSERT INTO "team_member" VALUES(1,1,3,'组长');
INSERT INTO "team_member" VALUES(2,1,5,'副组长');
INSERT INTO "team_member" VALUES(3,1,10,'组员');
CREATE TABLE term_plan (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	first_year INTEGER NOT NULL, 
	last_year INTEGER NOT NULL, 
	rounds_per_year INTEGER NOT NULL, 
	units_per_round INTEGER NOT NULL, 
	mix JSON, 
	approved_at DATETIME, 
	approved_by VARCHAR(50) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);
CREATE TABLE unit (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	area VARCHAR(50) NOT NULL, 
	secretary_name VARCHAR(50) NOT NULL, 
	secretary_contact VARCHAR(500) NOT NULL, 
	liaison_leader_id INTEGER, priority INTEGER DEFAULT '0' NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(liaison_leader_id) REFERENCES person (id)
);
INSERT INTO "unit" VALUES(1,'城东街道','乡镇街道','城区','钱正平','json://127.0.0.1:8765/unit/chengdong',1,0);
INSERT INTO "unit" VALUES(2,'城西街道','乡镇街道','城区','冯建华','json://127.0.0.1:8765/unit/chengxi',1,0);
INSERT INTO "unit" VALUES(3,'盐仓街道','乡镇街道','北片','褚国庆','',2,0);
INSERT INTO "unit" VALUES(4,'临城街道','乡镇街道','北片','卫秀英','',2,0);
INSERT INTO "unit" VALUES(5,'区财政局','部门','机关','蒋立新','json://127.0.0.1:8765/unit/caizheng',2,0);
INSERT INTO "unit" VALUES(6,'区教育局','部门','机关','沈红梅','',1,0);
INSERT INTO "unit" VALUES(7,'区卫生健康局','部门','机关','韩永明','',1,0);
INSERT INTO "unit" VALUES(8,'区住房和城乡建设局','部门','机关','杨光辉','',2,0);
INSERT INTO "unit" VALUES(9,'区农业农村局','部门','机关','朱海涛','',2,0);
INSERT INTO "unit" VALUES(10,'区民政局','部门','机关','秦淑芬','',1,0);
INSERT INTO "unit" VALUES(11,'区审计局','部门','机关','尤建军','',2,0);
INSERT INTO "unit" VALUES(12,'区交通投资集团','国有企业','国企','许振华','json://127.0.0.1:8765/unit/jiaotou',2,0);
INSERT INTO "unit" VALUES(13,'区城市建设投资公司','国有企业','国企','何立群','',1,0);
INSERT INTO "unit" VALUES(14,'区水务集团','国有企业','国企','吕德明','',1,0);
INSERT INTO "unit" VALUES(15,'东港社区','社区村','城区','施桂兰','',1,0);
INSERT INTO "unit" VALUES(16,'马岙村','社区村','北片','张阿根','',2,0);
CREATE INDEX ix_alert_dedupe_key ON alert (dedupe_key);
CREATE INDEX ix_alert_next_attempt_at ON alert (next_attempt_at);
CREATE INDEX ix_alert_status ON alert (status);
CREATE UNIQUE INDEX ix_inspection_round_name ON inspection_round (name);
CREATE INDEX ix_rolerecipient_role ON rolerecipient (role);
CREATE UNIQUE INDEX ix_unit_name ON unit (name);
CREATE UNIQUE INDEX ix_person_name ON person (name);
CREATE INDEX ix_common_problem_round_id ON common_problem (round_id);
CREATE INDEX ix_conflict_person_id ON "conflict" (person_id);
CREATE INDEX ix_conflict_unit_id ON "conflict" (unit_id);
CREATE INDEX ix_team_round_id ON team (round_id);
CREATE INDEX ix_inspection_round_id ON inspection (round_id);
CREATE INDEX ix_inspection_unit_id ON inspection (unit_id);
CREATE INDEX ix_team_member_team_id ON team_member (team_id);
CREATE INDEX ix_clue_letter_ack_due_on ON clue_letter (ack_due_on);
CREATE INDEX ix_clue_letter_inspection_id ON clue_letter (inspection_id);
CREATE INDEX ix_document_round_id ON document (round_id);
CREATE INDEX ix_inspection_notice_inspection_id ON inspection_notice (inspection_id);
CREATE INDEX ix_look_back_source_inspection_id ON look_back (source_inspection_id);
CREATE INDEX ix_accountability_look_back_id ON accountability (look_back_id);
CREATE INDEX ix_clue_inspection_id ON clue (inspection_id);
CREATE INDEX ix_clue_letter_id ON clue (letter_id);
CREATE INDEX ix_clue_status ON clue (status);
CREATE INDEX ix_rectification_item_deadline ON rectification_item (deadline);
CREATE INDEX ix_rectification_item_inspection_id ON rectification_item (inspection_id);
CREATE INDEX ix_rectification_item_next_action_on ON rectification_item (next_action_on);
CREATE INDEX ix_look_back_check_look_back_id ON look_back_check (look_back_id);
CREATE INDEX ix_petition_inspection_id ON petition (inspection_id);
CREATE INDEX ix_progress_report_item_id ON progress_report (item_id);
CREATE INDEX ix_supervision_notice_as_of ON supervision_notice (as_of);
CREATE INDEX ix_supervision_notice_inspection_id ON supervision_notice (inspection_id);
CREATE INDEX ix_planned_unit_term_id ON planned_unit (term_id);
CREATE INDEX ix_approval_round_id ON approval (round_id);
CREATE INDEX ix_finding_inspection_id ON finding (inspection_id);
CREATE INDEX ix_common_grouping_round_id ON common_grouping (round_id);
CREATE INDEX ix_login_session_account_id ON login_session (account_id);
CREATE INDEX ix_gate_receipt_approval_id ON gate_receipt (approval_id);
CREATE INDEX ix_gate_receipt_flow_run_id ON gate_receipt (flow_run_id);
CREATE INDEX ix_public_hit_client ON public_hit (client);
CREATE INDEX ix_public_hit_at ON public_hit (at);
CREATE INDEX ix_provisional_deadline_entity_id ON provisional_deadline (entity_id);
COMMIT;
