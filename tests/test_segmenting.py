"""Sentence splitting in both languages on the cases the aligner must get right."""
import numpy as np
from align.segmenting import bound_length, split_chinese, split_document, split_english, split_paragraph
from align.reading import read_document
from conftest import ZH_SAMPLE


def test_chinese_splits_after_enders_keeping_closing_quotes():
    assert split_chinese("他说：“我来了。”然后走了。真的吗？！是的！") == ["他说：“我来了。”", "然后走了。", "真的吗？！", "是的！"]
    # ZAKER's straight quotes: a quote closes when an odd number precede it.
    assert split_chinese('"必须走出一条新路，依靠创新驱动。"习近平总书记说。') == [
        '"必须走出一条新路，依靠创新驱动。"', "习近平总书记说。"]


def test_chinese_does_not_split_numbers_or_semicolons():
    text = "社会研发经费投入总量达2.4万亿元，占GDP的2.4%；研发人员从376万增至3.76万。"
    assert split_chinese(text) == [text]
    assert split_chinese(text, split_semicolon=True) == [
        "社会研发经费投入总量达2.4万亿元，占GDP的2.4%；", "研发人员从376万增至3.76万。"]


def test_chinese_ellipsis_final_only():
    assert split_chinese("科研人员心无旁骛，争分夺秒……") == ["科研人员心无旁骛，争分夺秒……"]
    assert split_chinese("他等了很久……”然后走了。") == ["他等了很久……”", "然后走了。"]
    mid = "日接种量可达2000万剂次以上 …… 让世界瞩目的中国速度，为全球注入信心。"
    assert split_chinese(mid) == [mid]


def test_english_abbreviations_numbers_and_quotes():
    text = ('The researchers of Beijing Kexing Zhongwei Biotechnology Co., Ltd. set off to lab No. 14 at 9 a.m. '
            'Spending reached 2.4% of GDP. J. R. R. Tolkien agreed. '
            '"We must rely on innovation." General Secretary Xi Jinping said.')
    assert split_english(text) == [
        "The researchers of Beijing Kexing Zhongwei Biotechnology Co., Ltd. set off to lab No. 14 at 9 a.m.",
        "Spending reached 2.4% of GDP.",
        "J. R. R. Tolkien agreed.",
        '"We must rely on innovation."',
        "General Secretary Xi Jinping said.",
    ]


def test_sentences_keep_paragraph_and_role():
    sentences = split_document(read_document(ZH_SAMPLE), "zh")
    first_caption = [s for s in sentences if s.paragraph == 2]
    assert [(s.text, s.role) for s in first_caption] == [
        ('这是6月11日公布的由祝融号火星车拍摄的"着巡合影"图。', "caption"), ("新华社发（国家航天局供图）", "credit")]
    assert any(s.role == "heading" for s in sentences)
    assert [s.paragraph for s in sentences] == sorted(s.paragraph for s in sentences)


def test_long_sentence_cut_into_bounded_pieces():
    text = "，".join(["这是一个没有句号的很长的分句"] * 400)
    pieces = bound_length(text, 300)
    assert all(len(p) <= 300 for p in pieces)
    assert "".join(pieces) == text


def test_model_token_lengths_measure_both_languages_in_one_vocabulary(encoder):
    pairs = [("今天天气很好。", "The weather is nice today."), ("我们去公园散步。", "We went for a walk in the park.")]
    texts = [text for pair in pairs for text in pair]
    pieces = encoder.lengths(texts)
    chars = np.array([len("".join(t.split())) for t in texts])
    assert list(encoder.lengths(["", texts[0], texts[0]])) == [0, pieces[0], pieces[0]]
    assert all(1 <= count <= len(text) for count, text in zip(pieces, texts))
    # A sentence and its translation: about as many word pieces, 3 times as many characters in English.
    for k in (0, 2):
        assert abs(np.log(pieces[k + 1] / pieces[k])) < 0.75 < 1.0 < np.log(chars[k + 1] / chars[k])


def test_full_width_punctuation_splits_sentences():
    assert split_paragraph("你好！你是谁？我很好。真的吗?是的!好｡再见．明天见", "zh") == [
        "你好！", "你是谁？", "我很好。", "真的吗?", "是的!", "好｡", "再见．", "明天见"]
    # An ASCII full stop after Han ends a sentence; not in numbers or domain names.
    assert split_paragraph("我们走吧.他说好. 长3.5米。网址是新华网.com。", "zh") == [
        "我们走吧.", "他说好.", "长3.5米。", "网址是新华网.com。"]
    assert split_paragraph("Hello world！ How are you？ I am fine．", "en") == [
        "Hello world！", "How are you？", "I am fine．"]
