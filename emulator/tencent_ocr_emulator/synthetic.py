"""A plausible, valid answer for any action, derived from an image's digest (load tests over any images).

Every number passes its document's public check (NRIC letter, HKID and Thai check digits, MRZ
check digits, MyKad and NIK structure) and agrees with the birth date and sex it encodes, so a
client's validation sees consistent documents. Dates are printed in the formats listed in
``emulator/README.md`` (the reference gives none).
"""

from __future__ import annotations

import datetime as dt

from tencent_ocr_emulator import nric, numbers

_SURNAMES = ("SANTOS", "REYES", "TAN", "LIM", "WONG", "CHAN", "SRISUK", "WIJAYA", "RAHMAN", "SMITH")
_GIVEN_M = ("JUAN", "WEI MING", "AHMAD", "SOMCHAI", "BUDI", "KAR WAI", "JOHN")
_GIVEN_F = ("MARIA", "MEI LING", "SITI", "MALEE", "DEWI", "SUK YEE", "ANNA")
_MONTHS = ("Jan.", "Feb.", "Mar.", "Apr.", "May", "Jun.", "Jul.", "Aug.", "Sep.", "Oct.", "Nov.", "Dec.")
_THAI_MONTHS = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")


def thai_date(day: dt.date) -> str:
    """A Thai card's date in Thai: day, abbreviated month, Buddhist-era year."""
    return f"{day.day} {_THAI_MONTHS[day.month - 1]} {day.year + 543}"


def thai_en_date(day: dt.date) -> str:
    """A Thai card's date in English, as printed: ``12 Jan. 1987``."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def answer(action: str, digest: str) -> dict[str, str]:
    """The flat fields (API names; nested ones as ``Object.Field``) of a synthetic card for ``action``."""
    n = int(digest[:15], 16)
    sex = "MF"[n % 2]
    born = dt.date(1950 + n % 55, 1 + n % 12, 1 + n % 28)
    issued = dt.date(2015 + n % 9, 1 + (n // 7) % 12, 1 + (n // 5) % 28)
    expires = issued.replace(year=issued.year + 10)
    surname = _SURNAMES[n % len(_SURNAMES)]
    given = (_GIVEN_M if sex == "M" else _GIVEN_F)[(n // 3) % 7]
    tag = digest[:6].upper()
    if action == "RecognizeSingaporeIDCardOCR":
        return singapore(digest)
    return _BUILDERS[action](n, sex, born, issued, expires, surname, given, tag)


def singapore(digest: str) -> dict[str, str]:
    """RecognizeSingaporeIDCardOCR's front side (unchanged since the emulator served only Singapore)."""
    number = int(digest[:12], 16)
    prefix = "STFGM"[number % 5]
    digits = f"{(number // 5) % 10_000_000:07d}"
    day, month, year = 1 + number % 28, 1 + number % 12, 1950 + number % 55
    return {
        "ChName": "",
        "EnName": f"TEST PERSON {digest[:6].upper()}",
        "Sex": "MF"[number % 2],
        "CountryOfBirth": "SINGAPORE",
        "Birthday": f"{day:02d}-{month:02d}-{year}",
        "ID": prefix + digits + nric.check_letter(prefix, digits),
        "Race": "CHINESE",
    }


def _malaysia(
    n: int, sex: str, born: dt.date, issued: dt.date, expires: dt.date, surname: str, given: str, tag: str
) -> dict[str, str]:
    number = numbers.mykad_number(born, 1 + n % 16, n // 97, sex)
    return {
        "ID": number,
        "Name": f"{given} {'BIN' if sex == 'M' else 'BINTI'} {surname} {tag}",
        "Address": f"NO {1 + n % 90} JALAN MAWAR {1 + n % 9} 50450 KUALA LUMPUR W.P KUALA LUMPUR",
        "Sex": "LELAKI" if sex == "M" else "PEREMPUAN",
        "Type": "MyKad",
        "Birthday": f"{born:%d/%m/%Y}",
        "MyKadNumber": number.replace("-", ""),
    }


def _hong_kong(
    n: int, sex: str, born: dt.date, issued: dt.date, expires: dt.date, surname: str, given: str, tag: str
) -> dict[str, str]:
    prefix = "ABCDEGHKMPRVYZ"[n % 14]
    digits = f"{(n // 14) % 1_000_000:06d}"
    return {
        "CnName": "陈大文",
        "EnName": f"{surname}, {given.title()} {tag}",
        "TelexCode": "7115 1129 2429",
        "Sex": "男M" if sex == "M" else "女F",
        "Birthday": f"{born:%d-%m-%Y}",
        "Permanent": "1",
        "IdNum": f"{prefix}{digits}({numbers.hkid_check_digit(prefix, digits)})",
        "Symbol": "***AZ",
        "FirstIssueDate": f"({born.month:02d}-{(born.year + 18) % 100:02d})",
        "CurrentIssueDate": f"{issued:%d-%m-%y}",
        "WindowEmbeddedText": "",
        "HKIDVersion": "HKID-2018",
    }


def _thailand(
    n: int, sex: str, born: dt.date, issued: dt.date, expires: dt.date, surname: str, given: str, tag: str
) -> dict[str, str]:
    first12 = f"1{(n // 11) % 10**11:011d}"
    digits = first12 + numbers.thai_check_digit(first12)
    title = "Mr." if sex == "M" else "Miss"
    return {
        "ID": f"{digits[0]} {digits[1:5]} {digits[5:10]} {digits[10:12]} {digits[12]}",
        "ThaiName": "นาย สมชาย ใจดี" if sex == "M" else "น.ส. มาลี ใจดี",
        "ThaiFirstName": "สมชาย" if sex == "M" else "มาลี",
        "ThaiLastName": "ใจดี",
        "EnFirstName": f"{title} {given.split()[0].title()}",
        "EnLastName": f"{surname.title()}{tag.title()}",
        "IssueDate": thai_date(issued),
        "ExpirationDate": thai_date(expires),
        "EnIssueDate": thai_en_date(issued),
        "EnExpirationDate": thai_en_date(expires),
        "Birthday": thai_date(born),
        "EnBirthday": thai_en_date(born),
        "Religion": "พุทธ",
        "SerialNumber": f"{1000 + n % 9000}-{n % 100:02d}-{(n // 100) % 100_000_000:08d}",
        "Address": f"{1 + n % 200} หมู่ที่ {1 + n % 12} ต.บางรัก อ.บางรัก จ.กรุงเทพมหานคร",
        "LaserID": f"ME{n % 10}-{(n // 10) % 10**7:07d}-{n % 100:02d}",
        "CardCount": "1",
        "IsComplete": "true",
    }


def _indonesia(
    n: int, sex: str, born: dt.date, issued: dt.date, expires: dt.date, surname: str, given: str, tag: str
) -> dict[str, str]:
    return {
        "NIK": numbers.nik_number("317404", born, sex, n // 13),
        "Nama": f"{given} {surname} {tag}",
        "TempatTglLahir": f"JAKARTA, {born:%d-%m-%Y}",
        "JenisKelamin": "LAKI-LAKI" if sex == "M" else "PEREMPUAN",
        "GolDarah": "OAB"[n % 3],
        "Alamat": f"JL. MELATI NO. {1 + n % 99}",
        "RTRW": f"{1 + n % 9:03d}/{1 + n % 7:03d}",
        "KelDesa": "KEBAYORAN LAMA",
        "Kecamatan": "KEBAYORAN LAMA",
        "Agama": "ISLAM",
        "StatusPerkawinan": "KAWIN" if n % 2 else "BELUM KAWIN",
        "Perkerjaan": "KARYAWAN SWASTA",
        "KewargaNegaraan": "WNI",
        "BerlakuHingga": "SEUMUR HIDUP",
        "IssuedDate": f"{issued:%d-%m-%Y}",
        "Provinsi": "PROVINSI DKI JAKARTA",
        "Kota": "JAKARTA SELATAN",
    }


def _ph_names(surname: str, given: str, tag: str) -> dict[str, str]:
    return {"LastName": surname, "FirstName": f"{given} {tag}", "MiddleName": "GARCIA"}


def _ph_vote(
    n: int, sex: str, born: dt.date, issued: dt.date, expires: dt.date, surname: str, given: str, tag: str
) -> dict[str, str]:
    return {
        "VIN": f"{n % 10000:04d}-{(n // 10**4) % 10000:04d}A-{tag}{n % 10**5:05d}",
        **_ph_names(surname, given, tag),
        "Birthday": f"{born:%Y-%m-%d}",
        "CivilStatus": "SINGLE" if n % 2 else "MARRIED",
        "Citizenship": "FILIPINO",
        "Address": f"{1 + n % 300} RIZAL ST, QUEZON CITY",
        "PrecinctNo": f"{n % 10000:04d}A",
    }


def _ph_driving(
    n: int, sex: str, born: dt.date, issued: dt.date, expires: dt.date, surname: str, given: str, tag: str
) -> dict[str, str]:
    names = _ph_names(surname, given, tag)
    return {
        "Name": f"{surname}, {names['FirstName']} {names['MiddleName']}",
        **names,
        "Nationality": "PHL",
        "Sex": sex,
        "Address": f"{1 + n % 300} MABINI ST, MANILA",
        "LicenseNo": f"N{n % 100:02d}-{(n // 100) % 100:02d}-{(n // 10**4) % 10**6:06d}",
        "ExpiresDate": f"{expires:%Y/%m/%d}",
        "AgencyCode": f"N{n % 90 + 10}",
        "Birthday": f"{born:%Y/%m/%d}",
        "BloodType": ("O+", "A+", "B+", "AB+")[n % 4],
        "Height": f"1.{55 + n % 35}",
        "Weight": str(50 + n % 40),
        "EyeColor": "BLACK",
        "DLCodes": "A, B",
        "Restrictions": "",
        "Conditions": "NONE",
    }


def _ph_umid(
    n: int, sex: str, born: dt.date, issued: dt.date, expires: dt.date, surname: str, given: str, tag: str
) -> dict[str, str]:
    names = _ph_names(surname, given, tag)
    return {
        "Surname": surname,
        "GivenName": names["FirstName"],
        "MiddleName": names["MiddleName"],
        "Address": f"{1 + n % 300} BONIFACIO AVE, CEBU CITY",
        "Birthday": f"{born:%Y/%m/%d}",
        "CRN": f"{n % 10000:04d}-{(n // 10**4) % 10**7:07d}-{n % 10}",
        "Sex": "MALE" if sex == "M" else "FEMALE",
    }


def _ph_sss(
    n: int, sex: str, born: dt.date, issued: dt.date, expires: dt.date, surname: str, given: str, tag: str
) -> dict[str, str]:
    names = _ph_names(surname, given, tag)
    return {
        "LicenseNumber": f"{n % 100:02d}-{(n // 100) % 10**7:07d}-{n % 10}",
        "FullName": f"{names['FirstName']} {names['MiddleName']} {surname}",
        "Birthday": f"{born:%B %d, %Y}".upper(),
        "GivenName": names["FirstName"],
        "Surname": surname,
        "MiddleName": names["MiddleName"],
    }


def _ph_tin(
    n: int, sex: str, born: dt.date, issued: dt.date, expires: dt.date, surname: str, given: str, tag: str
) -> dict[str, str]:
    names = _ph_names(surname, given, tag)
    return {
        "LicenseNumber": f"{n % 1000:03d}-{(n // 10**3) % 1000:03d}-{(n // 10**6) % 1000:03d}-000",
        "FullName": f"{surname}, {names['FirstName']} {names['MiddleName']}",
        "Address": f"{1 + n % 300} LUNA ST, DAVAO CITY",
        "Birthday": f"{born:%m/%d/%Y}",
        "IssueDate": f"{issued:%m/%d/%Y}",
        "GivenName": names["FirstName"],
        "LastName": surname,
        "MiddleName": names["MiddleName"],
        "RDO": f"{n % 120:03d}",
    }


def passport_fields(
    *,
    issuing: str,
    nationality: str,
    number: str,
    surname: str,
    given: str,
    born: dt.date,
    sex: str,
    expires: dt.date,
    issued: dt.date | None = None,
    birth_place: str = "",
) -> dict[str, str]:
    """MLIDPassportOCR's fields for one data page: the MRZ lines with real check digits, and what they say."""
    line1, line2 = numbers.td3_lines(
        issuing=issuing,
        surname=surname,
        given=given,
        number=number,
        nationality=nationality,
        birth=born,
        sex=sex,
        expiry=expires,
    )
    name = f"{surname} {given}".strip()
    fields = {
        "ID": number,
        "Name": name,
        "DateOfBirth": f"{born:%Y-%m-%d}",
        "Sex": sex,
        "DateOfExpiration": f"{expires:%Y-%m-%d}",
        "IssuingCountry": issuing,
        "Nationality": nationality,
        "CodeSet": line1,
        "CodeCrc": line2,
        "Surname": surname,
        "GivenName": given,
        "Type": "P",
        "CardCount": "1",
        "IsComplete": "true",
    }
    visual = {
        "Type": "P",
        "IssuingCountry": issuing,
        "PassportID": number,
        "Surname": surname,
        "GivenName": given,
        "Name": name,
        "Nationality": nationality,
        "DateOfBirth": f"{born:%d %b %Y}".upper(),
        "Sex": sex,
        "DateOfIssuance": f"{issued:%d %b %Y}".upper() if issued else "",
        "DateOfExpiration": f"{expires:%d %b %Y}".upper(),
        "BirthPlace": birth_place,
    }
    fields.update({f"PassportRecognizeInfos.{k}": v for k, v in visual.items() if v})
    return fields


def _passport(
    n: int, sex: str, born: dt.date, issued: dt.date, expires: dt.date, surname: str, given: str, tag: str
) -> dict[str, str]:
    country = ("SGP", "MYS", "THA", "IDN", "PHL", "GBR")[n % 6]
    return passport_fields(
        issuing=country,
        nationality=country,
        number=f"{'EK'[n % 2]}{(n // 2) % 10**7:07d}{tag[0]}",
        surname=surname,
        given=f"{given} {tag}",
        born=born,
        sex=sex,
        expires=expires,
        issued=issued,
    )


_BUILDERS = {
    "MLIDCardOCR": _malaysia,
    "HKIDCardOCR": _hong_kong,
    "RecognizeThaiIDCardOCR": _thailand,
    "RecognizeIndonesiaIDCardOCR": _indonesia,
    "RecognizePhilippinesVoteIDOCR": _ph_vote,
    "RecognizePhilippinesDrivingLicenseOCR": _ph_driving,
    "RecognizePhilippinesUMIDOCR": _ph_umid,
    "RecognizePhilippinesSssIDOCR": _ph_sss,
    "RecognizePhilippinesTinIDOCR": _ph_tin,
    "MLIDPassportOCR": _passport,
}
