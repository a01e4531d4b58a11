"""Build the Word templates in templates/ (one per document kind) with docxtpl tags.

The office edits the generated .docx files in Word; run this script only to start again from
the standard layout (it overwrites them). Layout after GB/T 9704 (党政机关公文格式): A4, the
first page's header holds the issuer in red (发文机关标志), the document number and the red
line; title in 方正小标宋简体 2号, body 仿宋_GB2312 3号, headings 黑体 / 楷体_GB2312, page
numbers "— 1 —". The font table names a common CJK font as each font's alternative, so a
computer without the official fonts falls back to 宋体/仿宋/楷体/黑体 (LibreOffice: any CJK font).

    .venv/bin/python scripts/make_templates.py [target folder]
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_SECTION_START
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph

ROOT = Path(__file__).resolve().parents[1]
RED = RGBColor(0xE6, 0x00, 0x12)
BLACK = RGBColor(0, 0, 0)
# Official font -> the common font Word substitutes when it is missing.
ALT_FONTS = {"方正小标宋简体": "宋体", "仿宋_GB2312": "仿宋", "楷体_GB2312": "楷体", "黑体": "SimHei"}
LATIN = "Times New Roman"


def _fonts(style_or_run: object, east: str, latin: str = LATIN) -> None:
    rpr = style_or_run.element.get_or_add_rPr()  # type: ignore[attr-defined]
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        rfonts.set(qn(attr), latin)
    rfonts.set(qn("w:eastAsia"), east)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


def _style(doc: DocxDocument, name: str, *, east: str, size: float, base: str | None = "Normal",
           align: int | None = None, indent: bool = False, bold: bool = False, color: RGBColor = BLACK,
           exact: float | None = 28, before: float = 0, after: float = 0) -> None:
    styles = doc.styles
    style = styles[name] if name in [s.name for s in styles] else styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    if base and name != base:
        style.base_style = styles[base]  # type: ignore[attr-defined]
    _fonts(style, east)
    font = style.font  # type: ignore[attr-defined]
    font.size, font.bold, font.italic, font.color.rgb = Pt(size), bold, False, color
    pf = style.paragraph_format  # type: ignore[attr-defined]
    pf.alignment = align
    pf.first_line_indent = Pt(size * 2) if indent else Pt(0)
    pf.space_before, pf.space_after = Pt(before), Pt(after)
    if exact:
        pf.line_spacing_rule, pf.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(exact)
    else:
        pf.line_spacing_rule = WD_LINE_SPACING.SINGLE


def _styles(doc: DocxDocument) -> None:
    _style(doc, "Normal", east="仿宋_GB2312", size=16, base=None, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True)
    _style(doc, "公文标题", east="方正小标宋简体", size=22, align=WD_ALIGN_PARAGRAPH.CENTER, exact=36, after=16)
    _style(doc, "Heading 1", east="黑体", size=16, indent=True)
    _style(doc, "Heading 2", east="楷体_GB2312", size=16, indent=True)
    _style(doc, "主送机关", east="仿宋_GB2312", size=16)
    _style(doc, "落款", east="仿宋_GB2312", size=16, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _style(doc, "表格文字", east="仿宋_GB2312", size=12, exact=None, align=WD_ALIGN_PARAGRAPH.LEFT)
    _style(doc, "图表", east="仿宋_GB2312", size=12, exact=None, align=WD_ALIGN_PARAGRAPH.CENTER)
    _style(doc, "发文机关标志", east="方正小标宋简体", size=30, exact=None, align=WD_ALIGN_PARAGRAPH.CENTER,
           color=RED, after=12)
    _style(doc, "发文字号", east="仿宋_GB2312", size=16, exact=None, align=WD_ALIGN_PARAGRAPH.CENTER, after=4)
    _style(doc, "页码", east="宋体", size=14, exact=None, align=WD_ALIGN_PARAGRAPH.CENTER)
    for name in ("Heading 1", "Heading 2"):
        doc.styles[name].paragraph_format.keep_with_next = True  # type: ignore[union-attr]


def _font_alternatives(doc: DocxDocument) -> None:
    part = next(p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml")
    root = parse_xml(part.blob)
    for name, alt in ALT_FONTS.items():
        root.append(parse_xml(
            f'<w:font {nsdecls("w")} w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="86"/>'
            f'<w:family w:val="{"modern" if name == "黑体" else "roman"}"/><w:pitch w:val="variable"/></w:font>'))
    from lxml import etree

    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)  # type: ignore[attr-defined]


def _red_line(paragraph: Paragraph) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    ppr.append(parse_xml(f'<w:pBdr {nsdecls("w")}><w:bottom w:val="single" w:sz="18" w:space="6" w:color="E60012"/></w:pBdr>'))


def _page_number(paragraph: Paragraph) -> None:
    paragraph.add_run("— ")
    paragraph._p.append(parse_xml(
        f'<w:fldSimple {nsdecls("w")} w:instr=" PAGE "><w:r><w:t>1</w:t></w:r></w:fldSimple>'))
    paragraph.add_run(" —")


def _page(doc: DocxDocument) -> None:
    section = doc.sections[0]
    section.start_type = WD_SECTION_START.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance, section.footer_distance = Mm(15), Mm(20)
    section.different_first_page_header_footer = True
    first = section.first_page_header
    issuer = first.paragraphs[0]
    issuer.text, issuer.style = "{{ issuer }}", doc.styles["发文机关标志"]
    number = first.add_paragraph("{{ doc_no }}", style="发文字号")
    _red_line(number)
    for footer in (section.first_page_footer, section.footer):
        _page_number(footer.paragraphs[0])
        footer.paragraphs[0].style = doc.styles["页码"]


def para(doc: DocxDocument, text: str, style: str | None = None) -> Paragraph:
    return doc.add_paragraph(text, style=style)


def control(doc: DocxDocument, tag: str) -> None:
    """A paragraph holding only a docxtpl `{%p … %}` tag (removed when rendering)."""
    doc.add_paragraph("{%p " + tag + " %}")


def h1(doc: DocxDocument, text: str) -> None:
    doc.add_paragraph(text, style="Heading 1")


def h2(doc: DocxDocument, text: str) -> None:
    doc.add_paragraph(text, style="Heading 2")


def loop_table(doc: DocxDocument, headers: list[str], cells: list[str], rows: str, var: str = "r",
               widths: list[float] | None = None) -> None:
    """A table whose body repeats one row per element of `rows` (docxtpl `{%tr %}`)."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    lines = [headers, ["{%tr for " + var + " in " + rows + " %}"] + [""] * (len(headers) - 1), cells,
             ["{%tr endfor %}"] + [""] * (len(headers) - 1)]
    for row, values in zip(table.rows, lines, strict=True):
        for n, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
            cell.paragraphs[0].text = value
            cell.paragraphs[0].style = doc.styles["表格文字"]
            if row is table.rows[0]:
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            if widths:
                cell.width = Mm(widths[n])


def opening(doc: DocxDocument) -> None:
    para(doc, "{{ title }}", "公文标题")
    control(doc, "if addressee")
    para(doc, "{{ addressee }}：", "主送机关")
    control(doc, "endif")


def closing(doc: DocxDocument) -> None:
    para(doc, "")
    para(doc, "{{ signature }}", "落款")
    para(doc, "{{ date }}", "落款")


def announcement(doc: DocxDocument) -> None:
    para(doc, "根据巡察工作领导小组统一部署，{{ team }}于{{ start }}至{{ end }}对{{ unit }}党组织开展{{ round_kind }}。")
    para(doc, "巡察期间，受理反映{{ unit }}党组织领导班子及其成员、下一级党组织主要负责人等问题的来信、来电、来访，"
              "重点受理反映违反政治纪律、组织纪律、廉洁纪律、群众纪律、工作纪律、生活纪律等方面的问题。"
              "不属于巡察受理范围的信访问题，按规定交由被巡察单位和有关部门处理。")
    para(doc, "巡察组将严格为反映问题的群众保密。")
    para(doc, "巡察组成员：{{ members|join('；') }}")


def report(doc: DocxDocument) -> None:
    para(doc, "根据巡察工作领导小组统一部署，{{ team }}于{{ start }}至{{ end }}对{{ unit }}党组织开展了{{ round_kind }}。"
              "现将巡察情况报告如下。")
    h1(doc, "一、基本情况")
    para(doc, "共发现问题{{ total }}个，其中立行立改{{ fixed }}个。")
    control(doc, "for c in categories")
    para(doc, "{{ c.name }}：{{ c.count }}个")
    control(doc, "endfor")
    h1(doc, "二、发现的主要问题")
    control(doc, "for f in findings")
    para(doc, "{{ loop.index }}. 【{{ f.category }}】{{ f.description }}")
    control(doc, "endfor")
    h1(doc, "三、民主测评和问卷调查")
    control(doc, "if evaluations")
    loop_table(doc, ["类型", "项目", "参评人数", "各答案人数", "得分"],
               ["{{ r.kind }}", "{{ r.item }}", "{{ r.respondents }}", "{{ r.answers }}", "{{ r.score }}"],
               "evaluations", "r", [22, 50, 18, 56, 14])
    control(doc, "for c in charts")
    para(doc, "{{ c }}", "图表")
    control(doc, "endfor")
    control(doc, "else")
    para(doc, "未导入民主测评和问卷调查结果。")
    control(doc, "endif")
    h1(doc, "四、组长意见")
    para(doc, "{{ summary }}")


def feedback(doc: DocxDocument) -> None:
    para(doc, "根据巡察工作领导小组统一部署，{{ team }}于{{ start }}至{{ end }}对你单位党组织开展了{{ round_kind }}。"
              "经巡察工作领导小组审议，现将巡察反馈意见通报如下。")
    h1(doc, "一、巡察发现的主要问题")
    para(doc, "巡察共发现问题{{ total }}个，其中立行立改{{ fixed }}个、需要整改{{ to_rectify }}个。按问题类别统计如下：")
    loop_table(doc, ["问题类别", "问题数（个）"], ["{{ c.name }}", "{{ c.count }}"], "categories", "c", [100, 50])
    control(doc, "for c in categories")
    h2(doc, "{{ c.ordinal }}{{ c.name }}方面（{{ c.count }}个）")
    control(doc, "for d in c.problems")
    para(doc, "{{ loop.index }}. {{ d }}")
    control(doc, "endfor")
    control(doc, "endfor")
    h1(doc, "二、整改要求")
    para(doc, "（一）提高政治站位，切实履行整改主体责任。{{ unit }}党组织书记是整改第一责任人，要亲自部署、亲自督办。")
    para(doc, "（二）建立问题清单、任务清单、责任清单，逐项明确整改措施、责任人和完成时限，做到问题不查清不放过、"
              "整改不到位不放过、责任不落实不放过。")
    para(doc, "（三）请于{{ plan_due_days }}日内报送整改方案，{{ rectification_days }}日内完成整改并将整改情况报告"
              "报送巡察办。")
    para(doc, "（四）举一反三，建章立制，建立健全长效机制。")


def responsibility(doc: DocxDocument) -> None:
    para(doc, "{{ round_name }}中，{{ team }}对{{ unit }}党组织开展了巡察，反馈问题{{ total }}个，其中由您督办的个性问题"
              "{{ individual }}个，整改期限至{{ deadline }}。根据个性问题联系领导督办制，建议您作为{{ unit }}的联系领导，"
              "履行以下整改督办责任。")
    h1(doc, "一、督办责任")
    for i, duty in enumerate([
        "定期听取{{ unit }}巡察整改推进情况汇报，每月不少于一次；",
        "协调解决整改工作中遇到的困难和问题；",
        "指导{{ unit }}针对问题建章立制，健全长效机制；",
        "参加{{ unit }}巡察整改专题民主生活会，并作点评；",
        "督促{{ unit }}按期报送整改方案和整改情况报告；",
        "对整改进度滞后、整改不到位的，约谈有关负责人；",
        "整改完成后对整改成效审核把关，提出销号意见。",
    ], 1):
        para(doc, f"{i}. {duty}")
    h1(doc, "二、督办的个性问题")
    loop_table(doc, ["序号", "问题类别", "问题描述", "整改时限"],
               ["{{ r.no }}", "{{ r.category }}", "{{ r.description }}", "{{ r.deadline }}"], "items", "r",
               [14, 30, 88, 26])


def common_task(doc: DocxDocument) -> None:
    para(doc, "{{ round_name }}中，巡察组在{{ units|join('、') }}等{{ unit_count }}个单位发现同类问题"
              "“{{ problem }}”（{{ category }}），属于共性问题。根据共性问题分管领导领办制，经巡察工作领导小组研究，"
              "请您领办该问题的整改工作，会同{{ departments }}，按照“谁主管、谁负责”的原则，牵头推动相关单位和行业领域整改。")
    h1(doc, "一、问题情况")
    loop_table(doc, ["序号", "单位", "问题描述"], ["{{ r.no }}", "{{ r.unit }}", "{{ r.description }}"], "findings", "r",
               [14, 40, 104])
    h1(doc, "二、工作要求")
    para(doc, "（一）请于收到本函后{{ plan_due_days }}日内研究提出整改工作方案，明确牵头部门、整改措施和完成时限。")
    para(doc, "（二）从行业领域层面查找制度漏洞，建章立制，推动源头治理。")
    para(doc, "（三）整改进展请按月报送巡察办，整改完成后形成整改情况报告。")


def clue_letter(doc: DocxDocument) -> None:
    para(doc, "{{ label }}巡察中发现问题线索{{ count }}件，现移交你单位，请按规定办理。")
    h1(doc, "一、移交线索")
    loop_table(doc, ["线索类型", "件数"], ["{{ k.name }}", "{{ k.count }}"], "kinds", "k", [100, 50])
    para(doc, "线索编号：{{ clue_ids }}")
    h1(doc, "二、办理要求")
    para(doc, "请于{{ ack_due }}前签收（签收人须为本单位在册用户），并在签收后{{ result_days }}日内反馈办理结果。")
    para(doc, "线索具体内容另附密件，不在本函中列明。")


def results_letter(doc: DocxDocument) -> None:
    para(doc, "根据巡察工作领导小组统一部署，{{ team }}在{{ round_name }}中对{{ unit }}党组织开展了巡察。"
              "现将巡察发现的领导班子和干部方面的问题{{ total }}个函告你单位，请在干部考核评价、选拔任用、"
              "提醒谈话、诫勉谈话、年度考核、党建考核等工作中运用。")
    h1(doc, "一、巡察发现的领导班子和干部方面的问题")
    loop_table(doc, ["问题类别", "问题数（个）"], ["{{ c.name }}", "{{ c.count }}"], "categories", "c", [100, 50])
    loop_table(doc, ["序号", "问题类别", "问题描述"], ["{{ r.no }}", "{{ r.category }}", "{{ r.description }}"],
               "findings", "r", [14, 30, 114])
    h1(doc, "二、运用要求")
    para(doc, "（一）请于{{ ack_due }}前签收，并在签收后{{ use_days }}日内将运用情况（{{ uses }}等）反馈巡察办。")
    para(doc, "（二）计划在以后的考核、考察中运用的，请写明完成时限，运用后及时登记。")
    control(doc, "if clues_apart")
    para(doc, "（三）该单位的问题线索按程序另行移交，不在本函中列明。")
    control(doc, "endif")


def rectification_notice(doc: DocxDocument) -> None:
    para(doc, "根据巡察反馈意见，现将巡察发现问题的整改任务通知如下。请你单位党组织切实履行整改主体责任，逐项抓好落实。")
    h1(doc, "一、整改任务")
    para(doc, "共{{ total }}项整改任务，整改期限至{{ deadline }}。")
    loop_table(doc, ["序号", "问题类别", "问题描述", "责任人", "督办领导", "整改时限"],
               ["{{ r.no }}", "{{ r.category }}", "〔编号{{ r.item_no }}〕{{ r.description }}", "{{ r.owner }}",
                "{{ r.supervisor }}", "{{ r.deadline }}"], "items", "r", [12, 24, 62, 18, 18, 24])
    h1(doc, "二、有关要求")
    para(doc, "（一）请于{{ plan_due }}前报送整改方案，逐项明确整改措施、责任人和完成时限；报送整改方案和整改进展时，"
              "以问题描述前〔〕内的整改事项编号指明事项。")
    para(doc, "（二）整改期间按时报送整改进展；完成整改的事项，报送佐证材料，经巡察办审核后销号。")
    para(doc, "（三）逾期未完成整改的，将依次提醒、督办，并视情开展“回头看”、严肃问责。")


def summary(doc: DocxDocument) -> None:
    para(doc, "{{ round_name }}（{{ round_kind }}）于{{ start }}至{{ end }}开展，共派出巡察组{{ team_count }}个，"
              "巡察单位{{ unit_count }}个。现将本轮巡察工作情况总结如下。")
    h1(doc, "一、主要数据")
    para(doc, "本轮共发现问题{{ s.problems_found }}个，反馈问题{{ s.fed_back }}个，立行立改{{ s.fixed_on_site }}个；"
              "整改到位{{ s.rectified }}个，整改到位率{{ s.rate }}。移交问题线索{{ s.clues_transferred }}件，"
              "立案{{ s.cases }}件，处分{{ s.sanctioned }}人，建章立制{{ s.rules_made }}项。")
    loop_table(doc, ["指标", "数值"], ["{{ r.name }}", "{{ r.value }}"], "figures", "r", [100, 50])
    h1(doc, "二、各巡察组情况")
    loop_table(doc, ["巡察组", "组长", "单位数", "发现问题", "移交线索", "整改事项", "整改到位", "整改到位率"],
               ["{{ r.team }}", "{{ r.leader }}", "{{ r.units }}", "{{ r.problems_found }}", "{{ r.clues_transferred }}",
                "{{ r.items }}", "{{ r.rectified }}", "{{ r.rate }}"], "teams", "r", [26, 18, 14, 18, 18, 18, 18, 26])
    h1(doc, "三、各单位整改情况")
    loop_table(doc, ["被巡察单位", "巡察组", "发现问题", "反馈问题", "立行立改", "整改到位", "整改到位率"],
               ["{{ r.name }}", "{{ r.team }}", "{{ r.problems_found }}", "{{ r.fed_back }}", "{{ r.fixed_on_site }}",
                "{{ r.rectified }}", "{{ r.rate }}"], "units", "r", [34, 24, 18, 18, 18, 18, 26])
    h1(doc, "四、统计图表")
    control(doc, "for c in charts")
    para(doc, "{{ c }}", "图表")
    control(doc, "endfor")
    h1(doc, "五、下一步工作")
    para(doc, "持续跟踪整改进展，对整改不到位的单位适时开展“回头看”，推动巡察成果运用。")


KINDS: dict[str, Callable[[DocxDocument], None]] = {
    "巡察公告": announcement,
    "巡察报告": report,
    "巡察反馈意见": feedback,
    "落实巡察整改工作责任建议书": responsibility,
    "关于落实巡察整改工作任务的函": common_task,
    "问题线索移交函": clue_letter,
    "巡察成果运用函": results_letter,
    "整改通知书": rectification_notice,
    "巡察工作总结报告": summary,
}


def build(kind: str, body: Callable[[DocxDocument], None], target: Path) -> Path:
    doc = Document()
    _styles(doc)
    _font_alternatives(doc)
    _page(doc)
    # The default document starts empty; every paragraph below is ours.
    opening(doc)
    body(doc)
    closing(doc)
    doc.core_properties.title = f"{kind}（模板）"
    doc.core_properties.author = "巡察工作领导小组办公室"
    path = target / f"{kind}.docx"
    doc.save(str(path))
    return path


def main(target: Path = ROOT / "templates") -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    return [build(kind, body, target) for kind, body in KINDS.items()]


if __name__ == "__main__":
    for p in main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "templates"):
        print(p)
