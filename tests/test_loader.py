"""Fault injection for valuesim.loader.load_wvs: every broken input must fail with a message naming the file and the problem.
Runs on the package's synthetic sample only (no WVS data)."""
import re, zipfile, warnings
import numpy as np, pandas as pd, pytest
from valuesim.loader import load_wvs, write_wvs, WVSFileError, WVSLoadWarning, describe_load, TEXT_COLUMNS
from valuesim.synthetic import synthetic_wvs


@pytest.fixture(scope='module')
def raw():
    return synthetic_wvs(60, seed=1)


def fails(path, *needles, exc=Exception, **kw):
    "load_wvs(path) raises `exc` whose message names the file and contains every needle."
    with pytest.raises(exc) as e: load_wvs(path, **kw)
    msg = str(e.value)
    assert path.name in msg, msg
    for n in needles: assert n in msg, f'{n!r} not in {msg!r}'
    return msg


# --- the path itself ------------------------------------------------------------------------------------------------
def test_missing_path(tmp_path):
    fails(tmp_path/'WVS_Cross-National_Wave_7_csv_v6_0.csv', 'no such file', exc=FileNotFoundError)

def test_directory(tmp_path):
    d = tmp_path/'wvs_folder.csv'; d.mkdir()
    fails(d, 'is a directory', exc=IsADirectoryError)

@pytest.mark.parametrize('name', ['wvs.txt', 'wvs.json', 'wvs.rds', 'wvs'])
def test_wrong_extension(tmp_path, raw, name):
    p = tmp_path/name; raw.to_csv(p, index=False)  # a perfectly good CSV under the wrong name
    fails(p, 'unknown format', '.csv, .sav, .dta, .xlsx, .zip', exc=WVSFileError)

def test_empty_file(tmp_path):
    p = tmp_path/'empty.csv'; p.write_bytes(b'')
    fails(p, 'the file is empty', exc=WVSFileError)


# --- malformed CSV --------------------------------------------------------------------------------------------------
def test_truncated_csv(tmp_path, raw):
    p = write_wvs(raw, tmp_path/'full.csv'); data = p.read_bytes()
    cut = tmp_path/'cut.csv'; cut.write_bytes(data[:int(len(data) * .6)])
    fails(cut, 'malformed CSV', 'truncated', exc=WVSFileError)

def test_row_with_extra_fields(tmp_path, raw):
    p = write_wvs(raw, tmp_path/'extra.csv'); lines = p.read_text().splitlines()
    lines[10] += ',1,2,3'; p.write_text('\n'.join(lines) + '\n')
    fails(p, 'malformed CSV', exc=WVSFileError)

def test_binary_garbage_named_csv(tmp_path):
    p = tmp_path/'garbage.csv'; p.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes().replace(b',', b'x').replace(b';', b'x').replace(b'\t', b'x'))
    fails(p, 'no comma, semicolon or tab', exc=WVSFileError)

def test_header_only(tmp_path, raw):
    p = write_wvs(raw.iloc[:0], tmp_path/'header_only.csv')
    fails(p, 'no respondent rows', exc=WVSFileError)

def test_duplicate_column(tmp_path, raw):
    p = write_wvs(raw, tmp_path/'dupcol.csv'); lines = p.read_text().splitlines()
    lines[0] = lines[0].replace(',Q2,', ',Q1,'); p.write_text('\n'.join(lines) + '\n')
    fails(p, 'column Q1 appears twice', exc=WVSFileError)

def test_non_integer_code(tmp_path, raw):
    df = raw.astype({'Q10': float}); df.loc[4, 'Q10'] = 1.5
    fails(write_wvs(df, tmp_path/'fraction.csv'), 'Q10: 1.5 (1 cells)', exc=WVSFileError)


# --- zip downloads --------------------------------------------------------------------------------------------------
def test_zip_without_data_file(tmp_path):
    p = tmp_path/'download.zip'
    with zipfile.ZipFile(p, 'w') as zf: zf.writestr('WVS_Codebook.pdf', b'%PDF-1.4'); zf.writestr('readme.txt', 'hello')
    msg = fails(p, 'holds no WVS data file', exc=WVSFileError)
    assert 'WVS_Codebook.pdf' in msg

def test_zip_with_two_data_files(tmp_path, raw):
    a, b = write_wvs(raw, tmp_path/'a.csv'), write_wvs(raw, tmp_path/'b.dta')
    p = tmp_path/'two.zip'
    with zipfile.ZipFile(p, 'w') as zf: zf.write(a, 'F1-WVS_Turkey.csv'); zf.write(b, 'F1-WVS_Turkey.dta')
    msg = fails(p, 'holds 2 data files', exc=WVSFileError)
    assert 'F1-WVS_Turkey.csv' in msg and 'F1-WVS_Turkey.dta' in msg

def test_damaged_zip(tmp_path):
    p = tmp_path/'broken.zip'; p.write_bytes(b'PK\x03\x04 this is not really a zip')
    fails(p, 'not a valid zip', exc=WVSFileError)

def test_zip_ignores_macos_metadata(tmp_path, raw):
    a = write_wvs(raw, tmp_path/'a.csv'); p = tmp_path/'mac.zip'
    with zipfile.ZipFile(p, 'w') as zf: zf.write(a, 'wvs/data.csv'); zf.writestr('__MACOSX/wvs/._data.csv', b'junk')
    assert len(load_wvs(p)) == len(raw)


# --- damaged binary formats -----------------------------------------------------------------------------------------
@pytest.mark.parametrize('name,needle', [('bad.sav', 'cannot read as SAV'), ('bad.dta', 'cannot read as DTA'), ('bad.xlsx', 'cannot read as Excel')])
def test_damaged_binary(tmp_path, name, needle):
    p = tmp_path/name; p.write_bytes(b'\x00\x01 not a real file ' * 50)
    fails(p, needle, exc=WVSFileError)


# --- content problems -----------------------------------------------------------------------------------------------
def test_xlsx_unmappable_labels(tmp_path, raw):
    df = raw.astype({'Q1': object, 'Q46': object})
    df.loc[[1, 2, 3], 'Q1'] = 'Extremely important'   # not an official label of Q1
    df.loc[5, 'Q46'] = 'Ecstatic'
    p = write_wvs(df, tmp_path/'labels.xlsx', labelled_headers=True, label_values=True)
    msg = fails(p, "Q1: 'Extremely important' (3 cells)", "Q46: 'Ecstatic' (1 cells)", 'not guessed', exc=WVSFileError)
    assert '2 column(s)' in msg

def test_unmapped_to_missing_is_reported(tmp_path, raw):
    df = raw.astype({'Q1': object}); df.loc[1, 'Q1'] = 'Extremely important'
    p = write_wvs(df, tmp_path/'labels.xlsx', label_values=True)
    with pytest.warns(WVSLoadWarning, match=r"cells set missing: 1 cells in 1 column\(s\): Q1 1 \(e\.g\. 'Extremely important'\)"):
        got = load_wvs(p, unmapped='missing')
    assert got.Q1.iloc[1] == -5 and got.attrs['unmapped_to_missing'] == {'Q1': ['Extremely important']}

def test_only_technical_columns(tmp_path, raw):
    p = write_wvs(raw[['version', 'doi', 'A_YEAR', 'B_COUNTRY', 'B_COUNTRY_ALPHA', 'D_INTERVIEW', 'W_WEIGHT', 'H_URBRURAL']], tmp_path/'tech.csv')
    fails(p, 'no question columns (Q1-Q290)', exc=WVSFileError)

def test_no_respondent_id(tmp_path, raw):
    fails(write_wvs(raw.drop(columns='D_INTERVIEW'), tmp_path/'noid.sav'), 'no D_INTERVIEW column', exc=WVSFileError)

def test_duplicated_interview_id(tmp_path, raw):
    df = raw.copy(); df.loc[[7, 8, 9], 'D_INTERVIEW'] = df.loc[6, 'D_INTERVIEW']
    msg = fails(write_wvs(df, tmp_path/'dup.dta'), 'D_INTERVIEW (respondent id) is not unique', exc=WVSFileError)
    assert str(raw.loc[6, 'D_INTERVIEW']) in msg and '(4 rows)' in msg

def test_empty_interview_id(tmp_path, raw):
    df = raw.astype({'D_INTERVIEW': object}); df.loc[3, 'D_INTERVIEW'] = None
    fails(write_wvs(df, tmp_path/'noid_cell.csv'), 'empty D_INTERVIEW', 'row 4', exc=WVSFileError)

@pytest.mark.parametrize('ext', ['.csv', '.sav', '.xlsx'])
def test_out_of_range_code(tmp_path, raw, ext):
    df = raw.copy(); df.loc[2, 'Q46'] = 9; df.loc[3, 'Q46'] = 9; df.loc[4, 'Q57'] = -7
    msg = fails(write_wvs(df, tmp_path/f'range{ext}'), 'outside any known code', 'Q46: 9 (2 cells)', exc=WVSFileError)
    assert 'Q57: -7 (1 cells)' in msg

def test_open_and_country_specific_take_any_integer(tmp_path, raw):
    df = raw.copy(); df.loc[0, 'Q270'] = 23; df.loc[0, 'Q290'] = 999123
    got = load_wvs(write_wvs(df, tmp_path/'open.csv'))
    assert got.Q270.iloc[0] == 23 and got.Q290.iloc[0] == 999123


# --- good inputs the faults are measured against ------------------------------------------------------------------
def test_semicolon_decimal_comma_weights(tmp_path, raw):
    p = write_wvs(raw, tmp_path/'country.csv', sep=';', bom=True, quote=True)
    text = p.read_text(encoding='utf-8-sig')
    text = re.sub(r';(\d+)\.(\d+);', r';"\1,\2";', text)   # weights written the continental way
    p.write_text(text, encoding='utf-8-sig')
    got = load_wvs(p)
    assert np.allclose(got.weight.to_numpy(), raw.W_WEIGHT.to_numpy())

def test_sav_user_missing_codes_kept(tmp_path, raw):
    got = load_wvs(write_wvs(raw, tmp_path/'missing.sav'))
    for q in ('Q1', 'Q46', 'Q276'):
        assert (got[q].to_numpy(int) == raw[q].to_numpy()).all()
    assert (got[['Q1', 'Q46', 'Q276']] < 0).to_numpy().any()

def test_missing_questions_reported_once(tmp_path, raw):
    p = write_wvs(raw.drop(columns=['Q3', 'Q4', 'Q200']), tmp_path/'partial.dta')
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always'); got = load_wvs(p)
    msgs = [str(x.message) for x in w if 'not in the file' in str(x.message)]
    assert len(msgs) == 1 and 'Q3-Q4, Q200' in msgs[0] and 'partial.dta' in msgs[0]
    assert got.attrs['missing_questions'] == ['Q3', 'Q4', 'Q200'] and set(got.Q200) == {-4}


# --- label-valued copies, as redistributed Excel files hold them ---------------------------------------------------
@pytest.fixture(scope='module')
def labelled(raw):
    "The synthetic sample with unweighted rows and completeness flags, as copies without weighting have them."
    df = raw.copy(); df.loc[::2, 'W_WEIGHT'] = 1.0
    for w in ('WEIGHT1A', 'WEIGHT2A', 'WEIGHT4B'): df[w] = 1
    return df

def quiet_load(p, **kw):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always'); got = load_wvs(p, **kw)
    return got, [x for x in w if issubclass(x.category, WVSLoadWarning)]

def codes_equal_except_country_specific(got, ref):
    "Every code equal, except country-specific ones that became -5 with their label kept as text."
    for c in ref.columns:
        if c in ('Q223', 'Q272', 'Q290'):
            kept = got[f'{c}_text'].notna()
            assert (got[c][kept] == -5).all() and (got[c][~kept] == ref[c][~kept]).all(), c
        elif c not in TEXT_COLUMNS: pd.testing.assert_series_equal(got[c], ref[c], obj=c)

@pytest.mark.parametrize('name,kw', [('copy.xlsx', dict(labelled_headers=True)), ('copy.csv', {}), ('copy.sav', {}), ('copy.dta', {}),
                                     ('copy_typo.xlsx', dict(labelled_headers=True, typography=True))])
def test_label_valued_copy_loads_by_default(tmp_path, labelled, name, kw):
    ref = load_wvs(write_wvs(labelled, tmp_path/'codes.csv'))
    got, w = quiet_load(write_wvs(labelled, tmp_path/name, label_values=True, **kw))
    codes_equal_except_country_specific(got, ref)
    assert len(w) == 1 and 'value labels mapped' in str(w[0].message) and name in str(w[0].message)

def test_weight_labels_map_to_numbers(tmp_path, labelled):
    got, _ = quiet_load(write_wvs(labelled, tmp_path/'w.xlsx', label_values=True))
    assert (got.weight[::2] == 1.0).all() and np.allclose(got.weight[1::2], labelled.W_WEIGHT[1::2])
    assert got.attrs['load_report']['labels_mapped']['W_WEIGHT'] == len(labelled[::2])

def test_unknown_weight_text_is_missing_not_an_error(tmp_path, raw):
    df = raw.astype({'W_WEIGHT': object}); df.loc[4, 'W_WEIGHT'] = 'see documentation'
    got, w = quiet_load(write_wvs(df, tmp_path/'w.csv'))
    assert np.isnan(got.weight[4]) and "W_WEIGHT 1 (e.g. 'see documentation')" in str(w[0].message)

def test_birth_country_names_map_to_iso_codes(tmp_path, raw):
    df = raw.astype({'Q266': object, 'Q267': object, 'Q268': object})
    names = {'Jamaica': 388, 'Hong Kong SAR': 344, 'Iran': 364, 'Vietnam': 704, 'Netherlands': 528, 'Cambodia': 116, 'Thailand': 764}
    for i, n in enumerate(names): df.loc[i, 'Q266'] = n; df.loc[i, 'Q267'] = n.upper(); df.loc[i, 'Q268'] = f'  {n} '
    got, _ = quiet_load(write_wvs(df, tmp_path/'born.xlsx'))
    for q in ('Q266', 'Q267', 'Q268'): assert got[q][:len(names)].tolist() == list(names.values()), q
    assert got.attrs['load_report']['country_names_mapped']['Q266'] == len(names)

def test_country_specific_labels_are_kept_as_text(tmp_path, raw):
    df = raw.astype({'Q223': object, 'Q272': object, 'Q290': object})
    df.loc[0, 'Q223'] = 'USA: Republican Party'; df.loc[1, 'Q272'] = 'Standard Chinese; Mandarin; Putonghua; Guoyu'
    df.loc[2, 'Q290'] = 'US: White, non-Hispanic'; df.loc[3, 'Q272'] = 'French'   # French has an official code
    got, w = quiet_load(write_wvs(df, tmp_path/'cs.xlsx'))
    assert [got.Q223[0], got.Q223_text[0]] == [-5, 'USA: Republican Party']
    assert [got.Q272[1], got.Q290[2], got.Q290_text[2]] == [-5, -5, 'US: White, non-Hispanic']
    assert [got.Q272[3], got.Q272_text[3] is pd.NA] == [1400, True]
    assert got.attrs['load_report']['texts_kept']['Q223']['cells'] == 1 and 'kept in <question>_text' in str(w[0].message)

@pytest.mark.parametrize('variant', ['Don´t know', 'Don’t know', 'DON`T KNOW', '  don\u2019t   know '])
def test_typographic_variants_match(tmp_path, raw, variant):
    df = raw.astype({'Q1': object}); df.loc[0, 'Q1'] = variant; df.loc[1, 'Q1'] = 'VERY  important'
    got, _ = quiet_load(write_wvs(df, tmp_path/'t.xlsx'))
    assert [got.Q1[0], got.Q1[1]] == [-1, 1]

def test_unknown_label_in_a_closed_question_still_stops(tmp_path, labelled):
    df = labelled.astype({'Q46': object}); df.loc[3, 'Q46'] = 'Blissful'
    p = write_wvs(df, tmp_path/'copy.xlsx', label_values=True)
    fails(p, "Q46: 'Blissful' (1 cells)", exc=WVSFileError)

def test_unknown_country_name_stops_the_load(tmp_path, raw):
    df = raw.astype({'B_COUNTRY': object}); df.loc[0, 'B_COUNTRY'] = 'Narnia'
    fails(write_wvs(df, tmp_path/'c.csv'), "B_COUNTRY: 'Narnia' (1 cells)", 'neither ISO numeric country codes nor country names', exc=WVSFileError)

def test_excel_engines_give_the_same_table(tmp_path, labelled):
    p = write_wvs(labelled, tmp_path/'copy.xlsx', labelled_headers=True, label_values=True)
    a, _ = quiet_load(p, excel_engine='calamine'); b, _ = quiet_load(p, excel_engine='openpyxl')
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs['format'] == 'xlsx (calamine)' and b.attrs['format'] == 'xlsx (openpyxl)'

def test_unknown_excel_engine(tmp_path, raw):
    with pytest.raises(ValueError, match='excel_engine must be one of'): load_wvs(write_wvs(raw, tmp_path/'x.xlsx'), excel_engine='xlrd')

def test_coded_file_loads_without_a_warning(tmp_path, raw):
    got, w = quiet_load(write_wvs(raw, tmp_path/'codes.csv'))
    assert w == [] and 'nothing was mapped' in describe_load(got.attrs['load_report'])
