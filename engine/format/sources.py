"""The source documents rules and prices may cite (the seed files in ``shared/seeds/``)."""

from __future__ import annotations

#: Seed file name → what it is. A citation naming anything else is an error.
SEEDS: dict[str, str] = {
    "000_c149a85d58b4ec2e.txt": "NTT East press release 2012-05-29: フレッツ・まとめて支払い",
    "001_ded95cce339fcddd.txt": "NTT West user guide v5.0 (2024-12): フレッツ・パスポートID",
    "002_c0352445769fc9cf.txt": "NTT East overview: 光コラボレーションモデル",
    "003_a579988be9a5b70a.txt": "NTT East service sheet: フレッツ・ジョイント",
    "004_84a0a3d01f54d5ce.txt": "青葉ケーブルテレビ&フレッツ光 guide: フレッツ・テレビ伝送サービス利用規約",
}
