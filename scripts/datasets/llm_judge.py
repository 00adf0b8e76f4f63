"""The llm-judge example dataset: open-ended prompts (explanations, summaries, advice) in English and Japanese.

There is no single right answer to these prompts, which is what a judge is for: each record's
``reference_answer`` is a good example answer (the key points a judge compares with), written by
hand below and checked against standard references. Each topic is asked once in English and once in
Japanese, each summary passage once in its own language; the prompt wording rotates through a few
templates. Records carry ``kind`` and ``language`` for analysis (the grader passes them through).
"""

from __future__ import annotations

import random
from typing import Any

# (English topic, English reference, Japanese topic, Japanese reference). Each topic fits
# "Explain {topic} ..." and "{topic}について..." alike.
EXPLANATIONS: list[tuple[str, str, str, str]] = [
    ("photosynthesis",
     "Photosynthesis is how plants, algae and some bacteria make their own food. Using the energy of sunlight, "
     "captured by chlorophyll in their chloroplasts, they turn carbon dioxide from the air and water into glucose, "
     "and release oxygen as a by-product. The glucose fuels the plant's growth, and the oxygen is what most living "
     "things breathe.",
     "光合成",
     "光合成は、植物や藻類などが光のエネルギーを使って自分で栄養をつくるしくみです。葉の葉緑体にある葉緑素（クロロフ"
     "ィル）が光を吸収し、そのエネルギーで二酸化炭素と水からブドウ糖（デンプンのもと）をつくり、酸素を放出します。こ"
     "の酸素は多くの生き物の呼吸に使われます。"),
    ("how vaccines work",
     "A vaccine trains the immune system before a real infection. It contains a harmless piece or version of a germ "
     "(an inactivated or weakened germ, one of its proteins, or instructions such as mRNA for making that protein). "
     "The immune system reacts by making antibodies and memory cells, so if the real germ arrives later, the body "
     "recognises it and fights it off faster, often before serious illness develops.",
     "ワクチンの仕組み",
     "ワクチンは、本物の病原体に感染する前に免疫に「予習」をさせるものです。毒性をなくしたり弱めたりした病原体、その"
     "一部のたんぱく質、あるいはそのたんぱく質をつくる設計図（mRNAなど）を体に入れると、免疫が抗体や記憶細胞をつくり"
     "ます。そのため後で本物の病原体が入ってきたときに素早く反応でき、重症化を防ぎやすくなります。"),
    ("inflation",
     "Inflation is a general rise in prices across an economy over time, which means each unit of money buys less "
     "than before. It is usually measured as the yearly percentage change in a price index such as the consumer "
     "price index. It can come from demand growing faster than supply, from rising costs such as energy, or from a "
     "fast-growing money supply; central banks typically raise interest rates to slow it.",
     "インフレーション（インフレ）",
     "インフレとは、物やサービスの価格が全体的に、継続して上がっていくことです。物価が上がると同じ金額で買えるものが"
     "減るため、お金の価値が下がったことになります。需要が供給を上回る場合や、エネルギーなどのコストが上がる場合など"
     "に起こり、中央銀行は金利を引き上げて抑えようとします。"),
    ("compound interest",
     "Compound interest is interest calculated on both the original amount and the interest already added. Each "
     "period's interest is added to the balance, so the next period's interest is larger: for example, 100 at 10% "
     "a year grows to 110 after one year and 121 after two. Over long periods this makes savings (or debts) grow "
     "much faster than with simple interest, which is paid only on the original amount.",
     "複利",
     "複利とは、元本だけでなく、それまでについた利息にも利息がつく計算方法です。たとえば100万円を年利10％で預けると、"
     "1年後は110万円、2年後は110万円の10％が加わって121万円になります。元本にだけ利息がつく単利と比べて、期間が長いほ"
     "どお金（借金の場合は返済額）が大きく増えます。"),
    ("what DNS does",
     "DNS, the Domain Name System, is the internet's address book. People use names like example.com, but computers "
     "connect using numeric IP addresses. When you type a name, your device asks a DNS resolver, which looks the name "
     "up through a hierarchy of servers (the root, the top-level domain and the domain's own name servers) and "
     "returns the IP address; answers are cached so later lookups are fast.",
     "DNSの役割",
     "DNS（ドメインネームシステム）は、インターネットの住所録のようなしくみです。人は「example.com」のような名前を使"
     "いますが、コンピューターは数字のIPアドレスで通信します。名前を入力すると、DNSリゾルバーがルートサーバーやトップ"
     "レベルドメインのサーバーなどを順にたどって対応するIPアドレスを調べて返し、結果はしばらくキャッシュされます。"),
    ("what HTTPS protects",
     "HTTPS is HTTP, the protocol of the web, sent over an encrypted TLS connection. It keeps others on the network "
     "from reading or altering what you send and receive, such as passwords or card numbers, and the site's "
     "certificate lets your browser check that it is talking to the real site rather than an impostor. It does not "
     "make the site itself trustworthy; it only protects the connection.",
     "HTTPSの仕組み",
     "HTTPSは、Webの通信（HTTP）をTLSという仕組みで暗号化したものです。通信の途中でパスワードやカード番号などを盗み見"
     "られたり書き換えられたりするのを防ぎます。また、サーバー証明書によって、接続先が本物のサイトであることをブラウ"
     "ザが確認できます。ただし、サイトの内容そのものが安全だと保証するわけではありません。"),
    ("the greenhouse effect",
     "The greenhouse effect is how some gases in the atmosphere keep the Earth warmer than it would otherwise be. "
     "Sunlight passes through the air and warms the surface, which gives off heat as infrared radiation. Greenhouse "
     "gases such as water vapour, carbon dioxide and methane absorb much of that infrared and send part of it back "
     "down. Without it the Earth would be far colder; adding more of these gases, mainly by burning fossil fuels, "
     "strengthens the effect and warms the climate.",
     "温室効果",
     "温室効果とは、大気中の一部の気体が熱を閉じ込め、地球を暖かく保つ働きです。太陽の光で温められた地面は赤外線とし"
     "て熱を宇宙に逃がそうとしますが、水蒸気や二酸化炭素、メタンなどの温室効果ガスがその一部を吸収し、地表に戻します"
     "。温室効果がなければ地球はずっと寒くなりますが、化石燃料の燃焼などでこれらのガスが増えると温暖化が進みます。"),
    ("why earthquakes happen",
     "The Earth's outer shell is broken into large tectonic plates that move slowly, a few centimetres a year. Where "
     "plates meet, the rocks lock together and stress builds up over years; when the rocks suddenly slip along a "
     "fault, the stored energy is released as seismic waves that shake the ground. That is why most earthquakes "
     "happen along plate boundaries, such as the Pacific Ring of Fire.",
     "地震が起きる仕組み",
     "地球の表面は、十数枚のプレートと呼ばれる岩盤に分かれていて、年に数センチずつ動いています。プレートの境目などで"
     "は岩盤どうしが押し合ってひずみがたまり、それが限界に達すると断層に沿って岩盤が急にずれ動きます。このときのエネ"
     "ルギーが地震波として伝わり、地面が揺れます。日本はいくつものプレートの境界にあるため、地震が多いのです。"),
    ("the water cycle",
     "The water cycle is the continuous movement of water around the Earth. The sun heats oceans, lakes and land so "
     "water evaporates (and plants release it by transpiration); the vapour rises, cools and condenses into clouds; "
     "it falls back as rain or snow; and it flows over land in rivers or soaks into the ground, eventually returning "
     "to the sea, where the cycle starts again.",
     "水の循環",
     "水の循環とは、地球上の水が姿を変えながらめぐり続けることです。太陽の熱で海や川、地面の水が蒸発し、植物からも水"
     "蒸気が出ます。水蒸気は上空で冷えて雲になり、雨や雪となって地上に降ります。その水は川を流れたり地下にしみこんだ"
     "りして、やがて海に戻り、再び蒸発します。"),
    ("why the sky is blue",
     "Sunlight contains all colours. As it passes through the atmosphere it is scattered by the gas molecules of the "
     "air, and short wavelengths (blue) are scattered much more strongly than long ones (red); this is called "
     "Rayleigh scattering. So blue light reaches our eyes from every direction of the sky. At sunrise and sunset "
     "the light crosses much more air, most of the blue is scattered away, and the sky near the sun looks red or "
     "orange.",
     "空が青く見える理由",
     "太陽の光にはいろいろな色の光が含まれています。光が大気を通るとき空気の分子にぶつかって散らばりますが、波長の短"
     "い青い光は波長の長い赤い光よりずっと強く散乱されます（レイリー散乱）。そのため空のあらゆる方向から青い光が目に"
     "届き、空が青く見えます。夕方は光が大気中を長く通るので青い光が途中で散らばってしまい、赤っぽく見えます。"),
    ("why we have seasons",
     "Seasons happen because the Earth's axis is tilted about 23.4 degrees relative to its orbit around the sun. As "
     "the Earth orbits, each hemisphere is tilted toward the sun for part of the year: it gets more direct sunlight "
     "and longer days, so it is summer there, while the other hemisphere has winter. It is not because the Earth is "
     "closer to the sun in summer; in fact the Earth is closest to the sun in early January.",
     "季節がある理由",
     "季節があるのは、地球の自転軸が公転面に対して約23.4度傾いているからです。地球が太陽のまわりを回るうちに、北半球"
     "が太陽の方へ傾く時期は太陽が高く昼が長くなるので夏、反対側に傾く時期は冬になります。太陽との距離の違いが原因で"
     "はなく、実際に地球が太陽に最も近づくのは1月初めごろです。"),
    ("why antibiotics do not work against viruses",
     "Antibiotics kill bacteria or stop them from growing by attacking parts that bacteria have and human cells do "
     "not, such as their cell walls or their own machinery for making proteins. Viruses have none of these: they are "
     "not cells, and they multiply inside our own cells. So antibiotics have nothing to hit in a cold or the flu, "
     "and taking them anyway only causes side effects and helps resistant bacteria spread.",
     "抗生物質がウイルスに効かない理由",
     "抗生物質は、細菌の細胞壁や細菌独自のたんぱく質をつくる仕組みなど、細菌にはあって人の細胞にはない部分を攻撃して"
     "、細菌を殺したり増えるのを止めたりします。ウイルスは細胞ではなく、人の細胞の中に入り込んで増えるため、抗生物質"
     "が攻撃できる標的を持っていません。そのため風邪やインフルエンザには効かず、不要に使うと副作用や薬剤耐性菌を増や"
     "す原因になります。"),
    ("machine learning",
     "Machine learning is a way of building computer programs that learn patterns from data instead of following "
     "rules written by hand. You give a model many examples, for instance emails labelled spam or not spam, and a "
     "training algorithm adjusts the model's parameters to reduce its mistakes on them. The trained model can then "
     "make predictions about new examples it has never seen.",
     "機械学習",
     "機械学習とは、人が一つひとつルールを書く代わりに、データからパターンをコンピューターに学ばせる方法です。たとえ"
     "ば迷惑メールかどうかがわかっている大量のメールを与えると、モデルは誤りが減るように内部のパラメーターを調整して"
     "いきます。学習したモデルは、初めて見るデータについても予測や分類ができるようになります。"),
    ("overfitting in machine learning",
     "Overfitting is when a model learns its training data too closely, including noise and accidental details, "
     "instead of the general pattern. It then scores very well on the training data but poorly on new data. It is "
     "detected by checking performance on held-out validation data, and reduced with more data, simpler models, "
     "regularisation, or stopping training early.",
     "機械学習の過学習",
     "過学習とは、モデルが学習データに合わせすぎて、本来の傾向ではなく偶然のばらつきやノイズまで覚えてしまう状態です"
     "。学習データでは高い精度が出るのに、新しいデータでは精度が下がります。学習に使っていない検証データで性能を確か"
     "めることで見つけ、データを増やす、モデルを単純にする、正則化や早期終了を使うなどの方法で防ぎます。"),
    ("public-key cryptography",
     "Public-key cryptography uses a pair of mathematically linked keys: a public key that anyone may know and a "
     "private key that its owner keeps secret. Data encrypted with the public key can only be decrypted with the "
     "private key, so anyone can send the owner a secret message. The owner can also sign data with the private "
     "key, and anyone can check the signature with the public key. It lets strangers communicate securely without "
     "sharing a secret in advance, and underpins HTTPS.",
     "公開鍵暗号",
     "公開鍵暗号は、数学的に対応する2つの鍵を使う暗号方式です。誰に知られてもよい「公開鍵」と、持ち主だけが秘密にする"
     "「秘密鍵」があり、公開鍵で暗号化したデータは対応する秘密鍵でしか復号できません。また、秘密鍵で署名したデータは"
     "、公開鍵で本人のものか確かめられます。事前に秘密の鍵を共有しなくても安全に通信できるため、HTTPSなどで使われてい"
     "ます。"),
    ("recursion in programming",
     "Recursion is when a function solves a problem by calling itself on a smaller version of the same problem. "
     "Every recursive function needs a base case that it can answer directly, so the calls eventually stop. For "
     "example, the factorial of n is n times the factorial of n - 1, and the factorial of 0 is 1. Without a "
     "reachable base case the calls never end and the program runs out of stack space.",
     "プログラミングの再帰",
     "再帰とは、関数が問題を小さくした同じ形の問題に対して自分自身を呼び出すことで解く方法です。必ず、それ以上分けず"
     "に直接答えられる「基底条件」を用意して、呼び出しがいつか止まるようにします。たとえば n の階乗は n ×（n−1 の階乗"
     "）で、0 の階乗は 1 と定義できます。基底条件に届かないと呼び出しが終わらず、スタックがあふれてしまいます。"),
    ("what version control systems like Git do",
     "A version control system records the history of changes to a set of files. With Git you save snapshots called "
     "commits, each with a message explaining the change, so you can see who changed what and when, compare "
     "versions, and go back to an earlier one. Branches let people work on features separately and merge them "
     "later, and full copies of the repository on several machines make collaboration and backups easy.",
     "Gitなどのバージョン管理システムの役割",
     "バージョン管理システムは、ファイルの変更履歴を記録する仕組みです。Gitでは変更を「コミット」という単位で保存し、"
     "説明のメッセージを付けるので、誰がいつ何を変えたかを確認したり、以前の状態に戻したりできます。ブランチを使えば"
     "複数の作業を並行して進めて後で統合（マージ）でき、チームでの共同作業やバックアップにも役立ちます。"),
    ("supply and demand",
     "Supply and demand describe how prices are set in a market. Demand is how much buyers want at each price, and "
     "usually falls as the price rises; supply is how much sellers offer at each price, and usually rises with the "
     "price. The price tends to settle where the two meet, the equilibrium. If demand grows or supply shrinks, the "
     "price goes up; if demand falls or supply grows, it goes down.",
     "需要と供給",
     "需要と供給は、市場で価格がどう決まるかを説明する考え方です。需要は買い手がその価格で買いたい量で、価格が上がる"
     "とふつう減ります。供給は売り手が売りたい量で、価格が上がるとふつう増えます。価格は両者が釣り合うところ（均衡価"
     "格）に落ち着き、需要が増えたり供給が減ったりすると上がり、その逆では下がります。"),
    ("how a refrigerator keeps food cold",
     "A refrigerator moves heat from inside to outside with a refrigerant that circulates in a closed loop. Inside, "
     "the liquid refrigerant evaporates in the evaporator coils, and evaporating absorbs heat from the food "
     "compartment. A compressor squeezes the vapour, making it hot, and it releases that heat to the room through "
     "the condenser coils as it turns back into a liquid. An expansion valve lowers its pressure again and the "
     "cycle repeats.",
     "冷蔵庫が冷える仕組み",
     "冷蔵庫は、冷媒という物質を循環させて、庫内の熱を外へ運び出しています。庫内の蒸発器で液体の冷媒が気体になるとき"
     "、まわりから熱を奪うので庫内が冷えます。気体になった冷媒はコンプレッサーで圧縮されて高温になり、凝縮器で熱を部"
     "屋に放出して液体に戻ります。その後、膨張弁で圧力を下げて再び庫内へ送られ、これを繰り返します。"),
    ("what causes ocean tides",
     "Tides are caused mainly by the Moon's gravity, with help from the Sun's. The Moon pulls hardest on the side of "
     "the Earth nearest to it and least on the far side, so the oceans bulge out on both the near and the far side. "
     "As the Earth rotates through these two bulges, most coasts get two high tides and two low tides about every "
     "24 hours and 50 minutes. When the Sun and Moon line up, at new and full moon, tides are strongest (spring "
     "tides).",
     "潮の満ち引きが起こる理由",
     "潮の満ち引きは、主に月の引力（と太陽の引力）によって起こります。月に近い側の海水は強く引かれ、反対側では引く力"
     "が弱いため、地球の両側で海面が盛り上がります。地球が自転してこの2つのふくらみを通過するので、多くの場所で満潮と"
     "干潮がおよそ1日2回ずつ起こります。新月や満月のころは太陽と月の力が重なり、潮の差が大きい大潮になります。"),
    ("what a black hole is",
     "A black hole is a region of space where matter is packed so densely that its gravity lets nothing escape, not "
     "even light. The boundary beyond which escape is impossible is called the event horizon. Most known black holes "
     "form when a very massive star collapses at the end of its life, and supermassive ones, millions to billions "
     "of times the Sun's mass, sit at the centres of most large galaxies. We detect them by their effects on nearby "
     "stars and gas, and by gravitational waves.",
     "ブラックホール",
     "ブラックホールは、物質が極めて狭い範囲に詰め込まれ、重力が強すぎて光さえも抜け出せなくなった天体です。そこから"
     "先へ入ると脱出できなくなる境界を「事象の地平面」と呼びます。多くは非常に重い恒星が寿命の最後に自らの重力でつぶ"
     "れてできると考えられ、大きな銀河の中心には太陽の数百万倍から数十億倍の質量を持つ超大質量ブラックホールがありま"
     "す。周りの星やガスの動き、重力波などから存在が確かめられています。"),
    ("what DNA is",
     "DNA (deoxyribonucleic acid) is the molecule that carries the genetic instructions of living things. It is a "
     "double helix: two strands built from four chemical bases, A, T, C and G, where A pairs with T and C pairs with "
     "G. The order of the bases encodes genes, which tell cells how to build proteins. Because each strand can serve "
     "as a template for the other, DNA can be copied accurately when cells divide and passed on to offspring.",
     "DNA",
     "DNA（デオキシリボ核酸）は、生物の遺伝情報を担う物質です。2本の鎖がらせん状に絡み合った二重らせん構造で、A・T・G"
     "・Cの4種類の塩基が並び、AはTと、GはCと対になっています。この塩基の並び方が遺伝子として、体をつくるたんぱく質の"
     "設計図になります。片方の鎖を型にしてもう一方を正確に複製できるため、細胞分裂や親から子へ情報が受け継がれます。"),
    ("a cryptographic hash function",
     "A cryptographic hash function turns any input into a fixed-size value, the hash or digest, such as the 256 "
     "bits of SHA-256. The same input always gives the same hash, a tiny change in the input gives a completely "
     "different one, and it is practically impossible to recover the input from the hash or to find two inputs with "
     "the same hash. That makes hashes useful for checking that files have not been altered, for digital "
     "signatures, and (with a slow, salted scheme) for storing passwords.",
     "暗号学的ハッシュ関数",
     "暗号学的ハッシュ関数は、どんなデータからでも、SHA-256なら256ビットのように決まった長さの値（ハッシュ値）を計算"
     "する関数です。同じ入力からは必ず同じ値が出て、入力が少しでも変わると全く違う値になります。また、ハッシュ値から"
     "元のデータを求めたり、同じハッシュ値になる別のデータを見つけたりすることは事実上できません。ファイルの改ざん検"
     "知や電子署名、パスワードの保存（ソルト付きの遅い方式で）などに使われます。"),
    ("opportunity cost",
     "Opportunity cost is the value of the best alternative you give up when you make a choice. Because time, money "
     "and resources are limited, choosing one option means not choosing another. For example, if you spend a "
     "Saturday studying instead of working a shift that pays 100 dollars, the opportunity cost of studying includes "
     "those 100 dollars. Thinking in opportunity costs helps compare choices by what they really cost.",
     "機会費用",
     "機会費用とは、ある選択をしたときに、あきらめたほかの選択肢のうち最も価値の高いものから得られたはずの利益のこと"
     "です。時間やお金には限りがあるので、何かを選べば別の何かを手放すことになります。たとえば日給1万円のアルバイトを"
     "休んで1日勉強すれば、その勉強の機会費用には1万円が含まれます。目に見える支出だけでなく、選択の本当のコストを比"
     "べるのに役立つ考え方です。"),
    ("the circadian rhythm",
     "The circadian rhythm is the body's internal clock, a cycle of about 24 hours that governs sleep and "
     "wakefulness, body temperature, hormone release and more. A master clock in the brain's hypothalamus (the "
     "suprachiasmatic nucleus) keeps it in step with the day, mainly using light: morning light resets it, and "
     "darkness triggers the release of melatonin, which promotes sleep. Jet lag and night-shift fatigue happen when "
     "the clock is out of step with the local day.",
     "体内時計（概日リズム）",
     "体内時計（概日リズム）は、睡眠と覚醒、体温、ホルモンの分泌などをおよそ24時間の周期で調整する仕組みです。脳の視"
     "床下部にある視交叉上核が中心となり、主に光によって毎日リセットされます。朝の光を浴びると時計が合わせられ、暗く"
     "なるとメラトニンが分泌されて眠くなります。時差ぼけや夜勤のつらさは、体内時計と実際の時間がずれることで起こりま"
     "す。"),
    ("what an index fund is",
     "An index fund is an investment fund that tries to match the performance of a market index, such as the S&P "
     "500, by holding all or a representative sample of the securities in it, rather than trying to pick winners. "
     "Because it simply follows the index, it needs little active management and usually charges low fees. It "
     "spreads money over many companies, which diversifies risk, but it still rises and falls with the market as "
     "a whole.",
     "インデックスファンド",
     "インデックスファンドは、日経平均株価やS&P500などの株価指数（インデックス）と同じ値動きを目指す投資信託です。値"
     "上がりしそうな銘柄を選ぶのではなく、指数に含まれる銘柄をまとめて保有するため、運用の手間が少なく、手数料（信託"
     "報酬）が低いのが特徴です。多くの企業に分散して投資できますが、市場全体が下がれば同じように値下がりします。"),
    ("caching in computing",
     "A cache is a small, fast store that keeps copies of data that were recently or frequently used, so later "
     "requests can be answered without going back to the slower original source. Examples are a CPU's memory "
     "cache, a browser keeping images it already downloaded, and a content delivery network serving pages from "
     "servers near the user. The hard parts are choosing what to keep when the cache is full and making sure cached "
     "copies do not become stale when the original changes.",
     "コンピューターのキャッシュ",
     "キャッシュとは、よく使うデータや最近使ったデータのコピーを、速く読み出せる場所に一時的に保存しておく仕組みです"
     "。次に同じデータが必要になったとき、遅い元の場所まで取りに行かずに済むので処理が速くなります。CPUのキャッシュメ"
     "モリや、ブラウザが一度読み込んだ画像を保存しておくことなどが例です。元のデータが変わったときに古いコピーを使わ"
     "ないようにする管理が重要です。"),
    ("the placebo effect",
     "The placebo effect is a real improvement in symptoms that comes from a person's expectation of being treated, "
     "not from an active ingredient. For example, some patients given a sugar pill report less pain. It mostly "
     "affects symptoms people perceive, such as pain or nausea, rather than curing diseases. Because of it, "
     "clinical trials compare a new drug with a placebo, ideally with neither patients nor doctors knowing who gets "
     "which (double-blind).",
     "プラセボ効果",
     "プラセボ効果とは、有効成分を含まない偽薬（砂糖の錠剤など）でも、「治療を受けている」という期待によって症状が実"
     "際に和らぐ現象です。痛みや吐き気など本人が感じる症状に表れやすく、病気そのものを治すわけではありません。そのた"
     "め新薬の臨床試験では、患者も医師もどちらを使っているかわからない二重盲検法で、偽薬と比べて効果を確かめます。"),
    ("how a lithium-ion battery works",
     "A lithium-ion battery stores energy by moving lithium ions between two electrodes, usually a graphite anode and "
     "a metal-oxide cathode, through an electrolyte. When it charges, the charger pushes lithium ions into the "
     "graphite; when it discharges, the ions flow back to the cathode while electrons travel through the outside "
     "circuit, powering the device. A separator keeps the electrodes from touching, because a short circuit can "
     "make the cell overheat.",
     "リチウムイオン電池の仕組み",
     "リチウムイオン電池は、リチウムイオンが電解液を通って正極と負極の間を行き来することで充電と放電をする電池です。"
     "充電するとリチウムイオンが正極（金属酸化物など）から負極（主に黒鉛）へ移動し、放電するときは正極へ戻り、そのと"
     "き電子が外の回路を流れて機器を動かします。正極と負極の間にはセパレーターがあり、両者が接触してショートするのを"
     "防いでいます。"),
    ("what an API is",
     "An API (application programming interface) is a defined way for one piece of software to ask another for data "
     "or services. It specifies which requests can be made, what inputs they take and what they return, without "
     "exposing how the other system works inside. For example, a weather app calls a weather service's web API "
     "with a location and gets the forecast back as structured data such as JSON.",
     "API",
     "API（アプリケーション・プログラミング・インターフェース）とは、あるソフトウェアが別のソフトウェアの機能やデータ"
     "を利用するための決められた窓口です。どんな要求を、どんな形式で送れば、何が返ってくるかが定められていて、相手の"
     "内部の仕組みを知らなくても使えます。たとえば天気アプリは、気象サービスのAPIに地域を送り、予報をJSONなどのデータ"
     "で受け取ります。"),
    ("how GPS finds your location",
     "A GPS receiver works out its position from signals sent by a constellation of satellites. Each satellite "
     "broadcasts its position and the exact time from its atomic clock. The receiver measures how long each signal "
     "took to arrive, which gives its distance from that satellite, and with signals from at least four satellites "
     "it can calculate its latitude, longitude and altitude and correct its own clock error.",
     "GPSで位置がわかる仕組み",
     "GPSは、地球を回る複数の人工衛星からの電波を使って位置を求めます。各衛星は原子時計による正確な時刻と自分の位置を"
     "送っていて、受信機は電波が届くまでにかかった時間から衛星までの距離を計算します。少なくとも4機の衛星の電波を使う"
     "ことで、緯度・経度・高度と受信機の時計のずれを同時に求められます。"),
    ("what a neural network is",
     "A neural network is a machine learning model made of layers of simple units, loosely inspired by neurons. Each "
     "unit takes numbers from the previous layer, multiplies them by weights, adds them up and applies a simple "
     "non-linear function. During training the weights are adjusted step by step, using backpropagation and "
     "gradient descent, to reduce the error on examples. Stacking many layers (deep learning) lets networks learn "
     "complex patterns in images, sound and text.",
     "ニューラルネットワーク",
     "ニューラルネットワークは、脳の神経細胞のつながりをヒントにした機械学習のモデルです。多数の単純な計算ユニットが"
     "層状につながり、それぞれ前の層からの値に重みをかけて足し合わせ、活性化関数を通して次の層へ渡します。学習では、"
     "誤差逆伝播法と勾配降下法を使って、出力の誤差が小さくなるように重みを少しずつ調整します。層を深く重ねたものを深"
     "層学習（ディープラーニング）と呼びます。"),
    ("the difference between weather and climate",
     "Weather is the state of the atmosphere at a particular place and time: today's temperature, rain, wind and "
     "clouds, which can change within hours. Climate is the average pattern of weather in a region over a long "
     "period, usually 30 years or more, including its typical range and extremes. A cold day does not disprove a "
     "warming climate, just as one hot summer does not prove it; climate is judged from long-term trends.",
     "天気と気候の違い",
     "天気は、ある場所・ある時点の大気の状態のことで、気温や雨、風、雲のようすなど、数時間で変わることもあります。気"
     "候は、ある地域の天気を長い期間（ふつう30年程度）にわたって平均した傾向のことです。そのため、ある日が寒かったか"
     "らといって温暖化が否定されるわけではなく、気候の変化は長期的な傾向で判断します。"),
    ("why the Moon has phases",
     "The Moon makes no light of its own; we see the half of it that the Sun lights up. As the Moon orbits the Earth "
     "(about 29.5 days from one new moon to the next), we see different portions of that sunlit half: almost none at "
     "new moon, then a growing crescent, a half moon and the whole face at full moon, and then less again. The "
     "phases are not caused by the Earth's shadow, which falls on the Moon only during a lunar eclipse.",
     "月の満ち欠けが起こる理由",
     "月は自分で光らず、太陽の光が当たっている半分だけが明るく見えます。月が地球のまわりを回るにつれて、地球から見え"
     "る「光っている部分」の割合が変わり、約29.5日の周期で満ち欠けを繰り返します。新月ではほとんど見えず、三日月、上"
     "弦の月を経て満月で全体が見え、その後また欠けていきます。地球の影が原因ではなく、地球の影が月にかかるのは月食の"
     "ときだけです。"),
    ("how noise-cancelling headphones work",
     "Active noise-cancelling headphones use small microphones to pick up the surrounding sound. Their electronics "
     "produce a sound wave that is the opposite (inverted in phase) of that noise and play it through the speakers, "
     "so the two waves largely cancel each other out. It works best on steady, low-pitched sounds such as engine "
     "hum; sudden or high-pitched sounds are reduced mainly by the physical seal and padding of the ear cups.",
     "ノイズキャンセリングイヤホンの仕組み",
     "ノイズキャンセリングは、イヤホンやヘッドホンに付いた小さなマイクで周囲の音を拾い、その騒音と逆の形（逆位相）の"
     "音を作って重ねることで騒音を打ち消す仕組みです。電車や飛行機のエンジン音のような低く一定の音に特に効果があり、"
     "高い音や突然の音は、主にイヤーピースなどで物理的に遮って小さくします。"),
]

# (passage, reference summary) in English, then in Japanese.
SUMMARIES_EN: list[tuple[str, str]] = [
    ("The city council voted on Tuesday to convert two lanes of Main Street into protected bike lanes. Supporters "
     "argued that the change would make cycling safer and reduce traffic in the town centre, pointing to a 40 "
     "percent rise in bike commuting over the past five years. Some shop owners opposed the plan, worried that "
     "losing parking spaces would drive customers away. The council agreed to review sales and traffic data one "
     "year after the lanes open.",
     "The city council approved turning two Main Street lanes into protected bike lanes to improve safety and "
     "reduce traffic, despite some shop owners' fears about lost parking, and will review the effects after a year."),
    ("Honeybees communicate the location of food with a 'waggle dance'. A forager returning to the hive moves in a "
     "figure-eight pattern, waggling its body during the straight middle run. The angle of that run relative to "
     "vertical shows the direction of the food relative to the sun, and the length of the waggle indicates the "
     "distance. Other bees follow the dancer and then fly out to find the flowers themselves.",
     "Honeybees tell their hive-mates where food is with a waggle dance, whose angle shows the direction relative "
     "to the sun and whose length shows the distance."),
    ("Many people believe that they can multitask effectively, but research suggests that the brain mostly switches "
     "rapidly between tasks rather than doing them at the same time. Each switch has a cost: it takes time to "
     "refocus, and mistakes become more likely. Studies have found that people who frequently juggle several "
     "streams of media are often worse at filtering out distractions. Focusing on one task at a time is usually "
     "faster and more accurate.",
     "Multitasking is mostly rapid switching between tasks, and each switch costs time and accuracy, so doing one "
     "task at a time is usually faster and more accurate."),
    ("The bakery introduced a reusable container program in March. Customers pay a small deposit for a sturdy box, "
     "return it on their next visit and receive a clean one. In the first six months, the shop used about 12,000 "
     "fewer disposable boxes, and the deposits covered the cost of washing. The owner now plans to extend the "
     "program to coffee cups.",
     "A bakery's deposit-based reusable box program, started in March, saved about 12,000 disposable boxes in six "
     "months while paying for its own washing, and the owner plans to extend it to coffee cups."),
    ("Sleep plays an important role in memory. During deep sleep, the brain replays and strengthens connections "
     "formed during the day, helping move new information into long-term memory. Students who sleep after studying "
     "tend to remember more than those who stay up all night. Even a short nap can improve recall of recently "
     "learned material.",
     "Sleep, especially deep sleep, consolidates the day's learning into long-term memory, so sleeping (or even "
     "napping) after studying improves recall more than staying up all night."),
    ("Rust is a programming language designed to be both fast and safe. Like C and C++, it compiles to efficient "
     "machine code and gives programmers control over memory. Unlike them, it checks at compile time, through its "
     "ownership and borrowing rules, that programs do not use memory after it is freed or share it between threads "
     "unsafely. This catches many bugs before the program ever runs, at the cost of a steeper learning curve.",
     "Rust is as fast and low-level as C and C++, but its compile-time ownership and borrowing checks prevent many "
     "memory and thread-safety bugs, at the cost of being harder to learn."),
    ("The museum will close its east wing for renovation from June to December. During that time, the dinosaur "
     "collection will move to a temporary exhibition hall on the ground floor, and guided tours will be shortened "
     "to one hour. Tickets bought online before June remain valid, and members will receive free entry to the "
     "reopening event.",
     "The museum's east wing closes for renovation from June to December: the dinosaurs move to a temporary hall, "
     "tours are shortened to an hour, tickets already bought stay valid and members get free entry to the "
     "reopening."),
    ("Coral reefs cover less than one percent of the ocean floor, yet they support about a quarter of all marine "
     "species. Corals get most of their energy from tiny algae living in their tissues. When the water becomes too "
     "warm, corals expel these algae and turn white, a process called bleaching. If high temperatures last too "
     "long, the corals starve and die, which threatens the fish and communities that depend on them.",
     "Coral reefs support about a quarter of marine species on under one percent of the seafloor, but warm water "
     "makes corals expel the algae that feed them (bleaching), and prolonged heat kills them."),
]
SUMMARIES_JA: list[tuple[str, str]] = [
    ("市立図書館は来月から、開館時間を平日は午後9時まで延長すると発表した。仕事帰りの利用者から要望が多かったことが理"
     "由で、延長する時間帯には学習室も使えるようになる。一方、人件費を抑えるため、月曜日の休館は続ける。図書館は半年後"
     "に利用状況を調べ、継続するかどうかを判断する。",
     "市立図書館は利用者の要望を受けて来月から平日の開館を午後9時まで延長し、学習室も使えるようにするが、月曜休館は続"
     "け、半年後に継続を判断する。"),
    ("発酵食品は、微生物の働きによって食材の成分が変化してできる食品である。みそやしょうゆ、納豆、ヨーグルトなどがその"
     "例だ。発酵によってうま味や香りが増すだけでなく、保存性が高まるという利点もある。冷蔵庫のない時代、人々は発酵を利"
     "用して食べ物を長持ちさせてきた。",
     "みそや納豆などの発酵食品は微生物の働きでできる食品で、うま味や香りが増し保存性も高まるため、昔から食べ物を長持"
     "ちさせるのに使われてきた。"),
    ("ある調査によると、1日に30分程度歩く習慣のある人は、ほとんど運動しない人に比べて、心臓病のリスクが低い傾向があっ"
     "た。特別な道具や費用が要らないため、ウォーキングは始めやすい運動だといえる。ただし、急に長い距離を歩くと膝などを"
     "痛めることがあるため、少しずつ距離を伸ばすことが勧められている。",
     "1日30分ほど歩く人は心臓病のリスクが低い傾向があり、ウォーキングは手軽に始められるが、けがを防ぐため距離は少しず"
     "つ伸ばすのがよい。"),
    ("町では今年から、家庭から出る生ごみを堆肥にする取り組みを始めた。希望する家庭に専用の容器を無料で配り、できた堆肥"
     "は地域の花壇や畑で使う。ごみの量が減れば、焼却にかかる費用も下がると期待されている。町は参加する家庭を来年までに"
     "千世帯に増やしたい考えだ。",
     "町は今年から希望する家庭に無料の容器を配って生ごみを堆肥にし、地域で活用する取り組みを始めた。ごみと焼却費を減"
     "らすため、参加世帯を来年までに千世帯に増やしたいとしている。"),
    ("日本の桜の開花日は、この数十年で全体として早まる傾向にある。主な原因は、気温の上昇だと考えられている。一方で、冬"
     "の寒さが足りないと、つぼみが休眠から目覚めにくくなり、かえって開花が遅れる地域もある。桜の開花は、気候の変化を知"
     "る身近な手がかりになっている。",
     "気温上昇により日本の桜の開花は全体的に早まっているが、冬の寒さ不足でかえって遅れる地域もあり、開花は気候変化を"
     "知る身近な手がかりになっている。"),
    ("パスワードを使い回すと、一つのサービスから情報が漏れたときに、ほかのサービスにも不正にログインされるおそれがある"
     "。そのため、サービスごとに異なる長いパスワードを使うことが大切だ。すべてを覚えるのが難しい場合は、パスワード管理"
     "ソフトを使うとよい。さらに、二段階認証を設定すれば、安全性は大きく高まる。",
     "パスワードの使い回しは一つの漏えいがほかのサービスへの不正ログインにつながるため、サービスごとに異なる長いパス"
     "ワードを管理ソフトなどで使い分け、二段階認証も設定するとよい。"),
    ("新しく開業した路線バスは、駅と病院、大型スーパーを結んでいる。運行は1時間に2本で、高齢者は半額で乗ることができる"
     "。これまで車を持たない住民は、買い物や通院にタクシーを使うことが多かった。市は利用者の声を聞きながら、停留所の追"
     "加も検討している。",
     "駅・病院・スーパーを結ぶ新しい路線バスが1時間に2本の運行を始め、高齢者は半額で乗れるため、車のない住民の買い物"
     "や通院が便利になる。市は停留所の追加も検討している。"),
    ("睡眠不足が続くと、集中力や記憶力が落ちるだけでなく、風邪をひきやすくなるなど体の調子にも影響が出る。寝る直前まで"
     "スマートフォンの画面を見ていると、光の刺激で寝つきが悪くなることがある。毎日同じ時刻に起き、朝に日光を浴びること"
     "が、よい睡眠につながるとされている。",
     "睡眠不足は集中力や記憶力、体調に悪影響があり、寝る前のスマートフォンは寝つきを悪くするため、毎日同じ時刻に起き"
     "て朝日を浴びることがよい睡眠につながる。"),
]

# (English situation, English reference tips, Japanese situation, Japanese reference tips). Each
# situation fits "tips for {situation}" and "{situation}ための..." / "{situation}には...".
ADVICE: list[tuple[str, str, str, str]] = [
    ("staying focused while working from home",
     "1. Keep a dedicated workspace and a regular schedule, starting and ending work at set times. 2. Remove "
     "distractions: silence notifications, keep the phone out of reach and close unrelated tabs. 3. Work in focused "
     "blocks (for example 25-50 minutes) with short breaks, and decide the day's most important tasks in the "
     "morning.",
     "在宅勤務で集中力を保つ",
     "1. 仕事専用の場所を決め、始業と終業の時刻をそろえて生活のリズムを保つ。2. 通知を切る、スマートフォンを手の届か"
     "ない場所に置くなど、気が散るものを遠ざける。3. 25〜50分ほど集中したら短い休憩を取り、朝にその日の重要な作業を決"
     "めておく。"),
    ("preparing for a job interview",
     "1. Research the company and the role, and connect your experience to what they need. 2. Practise answers to "
     "common questions aloud, with concrete examples of what you did and the results (for instance with the STAR "
     "method). 3. Prepare a few thoughtful questions to ask, plan your route or test your video setup, and be a "
     "little early.",
     "就職の面接に備える",
     "1. 企業と応募する仕事について調べ、自分の経験がどう役立つかを整理する。2. よく聞かれる質問への答えを、具体的な"
     "経験や成果を交えて声に出して練習する。3. 面接官への質問を用意し、会場までの道順やオンラインの接続を事前に確認し"
     "て、時間に余裕を持って臨む。"),
    ("saving money on groceries",
     "1. Plan the week's meals and shop with a list, so you buy only what you will use. 2. Compare unit prices, "
     "choose store brands and seasonal produce, and stock up on staples when they are on sale. 3. Do not shop "
     "hungry, and use up leftovers and what is already in the fridge to cut waste.",
     "食費を節約する",
     "1. 1週間の献立を考えて買い物リストを作り、必要なものだけを買う。2. 単位あたりの価格を比べ、旬の食材やプライベー"
     "トブランド、特売のまとめ買いを活用する。3. 空腹のときに買い物をせず、冷蔵庫にあるものや残り物を使い切って無駄を"
     "減らす。"),
    ("getting better sleep",
     "1. Go to bed and get up at the same times every day, weekends included. 2. Avoid caffeine in the afternoon "
     "and evening, heavy meals and alcohol close to bedtime, and bright screens in the last hour before sleep. "
     "3. Keep the bedroom dark, quiet and cool, and get daylight and some exercise during the day.",
     "よく眠れるようにする",
     "1. 休日も含めて、毎日同じ時刻に寝て同じ時刻に起きる。2. 午後以降のカフェイン、寝る直前の食事や飲酒、寝る前1時間の"
     "スマートフォンやパソコンの画面を避ける。3. 寝室を暗く静かで涼しく保ち、日中は日光を浴びて体を動かす。"),
    ("learning a new language as an adult",
     "1. Practise a little every day rather than a lot once a week; short regular sessions and spaced repetition of "
     "vocabulary work best. 2. Get plenty of input you can understand: listen to and read material at your level, "
     "such as podcasts, graded readers or shows with subtitles. 3. Speak and write from early on, for example with "
     "a conversation partner or a tutor, and accept mistakes as part of learning.",
     "大人になってから外国語を学ぶ",
     "1. 週に一度まとめてではなく毎日少しずつ続け、単語は間隔をあけて繰り返し復習する。2. 自分のレベルに合った音声や"
     "文章（ポッドキャストや字幕付きの動画など）にたくさん触れる。3. 早いうちから話したり書いたりする機会を作り、間違"
     "いを恐れずに使ってみる。"),
    ("giving a presentation without getting too nervous",
     "1. Prepare well and rehearse out loud several times, ideally in front of someone or on video, so the content "
     "feels familiar. 2. Know your opening lines by heart, and take slow, deep breaths before you start to calm your "
     "body. 3. Focus on the message and the audience rather than on yourself, and remember that some nervousness is "
     "normal and rarely visible to others.",
     "人前で緊張しすぎずに発表する",
     "1. 内容を十分に準備し、声に出して何度もリハーサルする（人に聞いてもらう、録画するなど）。2. 最初の一言を覚えて"
     "おき、始める前にゆっくり深呼吸して体を落ち着かせる。3. 自分の見え方より伝えたい内容と聞き手に意識を向け、多少の"
     "緊張は普通で周りにはあまり伝わらないと考える。"),
    ("keeping a houseplant healthy",
     "1. Match the plant to the light you have (many common houseplants like bright, indirect light). 2. Water when "
     "the top of the soil is dry rather than on a fixed schedule, and use a pot with drainage holes: overwatering is "
     "the most common cause of death. 3. Feed it lightly in the growing season, keep it away from drafts and "
     "heaters, and check the leaves for pests.",
     "観葉植物を元気に育てる",
     "1. 置き場所の明るさに合った植物を選び、直射日光を避けた明るい場所など、その植物に合う光を当てる。2. 決まった日"
     "ではなく土の表面が乾いたら水をやり、鉢底に穴のある鉢を使って水のやりすぎを防ぐ。3. 生育期には肥料を控えめに与え"
     "、エアコンの風や暖房器具から離し、葉に害虫がいないか確認する。"),
    ("protecting your online accounts",
     "1. Use a different, long password (or passphrase) for every account, kept in a password manager. 2. Turn on "
     "two-factor authentication, preferably with an authenticator app or a security key rather than SMS. 3. Watch "
     "out for phishing: do not log in through links in unexpected messages, check the site's address, and keep "
     "your devices and apps updated.",
     "オンラインのアカウントを守る",
     "1. アカウントごとに異なる長いパスワードを使い、パスワード管理ソフトで管理する。2. 二段階認証を設定する（できれ"
     "ばSMSより認証アプリやセキュリティキーを使う）。3. 不審なメールやメッセージのリンクからログインせず、サイトのア"
     "ドレスを確かめ、端末やアプリを最新の状態に保つ。"),
    ("starting to run regularly as a beginner",
     "1. Start slowly, for example alternating walking and easy jogging, and increase your weekly distance gradually "
     "(about 10 percent a week is a common guideline). 2. Run at a pace at which you can still talk, and take rest "
     "days so your body can recover. 3. Wear comfortable running shoes, warm up first, and stop if you feel sharp "
     "pain rather than ordinary tiredness.",
     "初心者がランニングを習慣にする",
     "1. 最初は歩きと軽いジョギングを組み合わせるなどゆっくり始め、走る距離は少しずつ増やす。2. 会話ができるくらいの"
     "ペースで走り、休養日を設けて体を回復させる。3. 足に合うランニングシューズを選び、準備運動をしてから走り、普通の"
     "疲れとは違う鋭い痛みがあれば中止する。"),
    ("reducing food waste at home",
     "1. Check what you already have before shopping, and buy only what you will use. 2. Store food properly, keep "
     "older items at the front of the fridge, and remember that 'best before' dates are about quality while 'use "
     "by' dates are about safety. 3. Freeze leftovers and extra portions, and cook first with what needs using up.",
     "家庭の食品ロスを減らす",
     "1. 買い物の前に冷蔵庫や棚にあるものを確認し、使い切れる分だけ買う。2. 食品を適切に保存して古いものを手前に置き"
     "、賞味期限はおいしく食べられる期限、消費期限は安全に食べられる期限であることを理解する。3. 残った料理や使い切れ"
     "ない食材は冷凍し、早く使うべきものから料理する。"),
    ("writing a clear email at work",
     "1. Use a specific subject line and state the purpose or the request in the first sentence or two. 2. Keep it "
     "short, with one topic per email, short paragraphs or bullet points, and any deadline stated clearly. 3. Reread "
     "it before sending, checking the recipients, attachments, tone and any dates or numbers.",
     "仕事でわかりやすいメールを書く",
     "1. 件名を具体的にし、最初の1〜2文で目的やお願いしたいことを伝える。2. 1通のメールには1つの用件にし、短い段落や"
     "箇条書きを使い、期限がある場合ははっきり書く。3. 送る前に読み返し、宛先、添付ファイル、言葉づかい、日付や数字に"
     "誤りがないか確認する。"),
    ("managing stress during exam season",
     "1. Make a realistic study plan that breaks the material into small daily goals, so the workload feels "
     "manageable. 2. Protect the basics: sleep enough, eat regularly, and take short breaks with some physical "
     "activity. 3. Limit comparisons with others and time spent worrying; if stress becomes overwhelming, talk to a "
     "friend, a family member, a teacher or a counsellor.",
     "試験期間のストレスに対処する",
     "1. 勉強する範囲を小さな日ごとの目標に分けた、無理のない計画を立てる。2. 睡眠を十分にとり、規則正しく食事をし、"
     "休憩中に軽く体を動かすなど、生活の基本を守る。3. 他人と比べすぎないようにし、つらさが大きいときは友人や家族、先"
     "生、カウンセラーに相談する。"),
    ("making a monthly budget",
     "1. Add up your monthly take-home income and track your spending for a month to see where the money actually "
     "goes. 2. Cover fixed costs and essentials first, set aside savings at the start of the month, and give each "
     "other category a limit. 3. Review the budget every month and adjust it, keeping a small buffer for irregular "
     "expenses.",
     "毎月の家計の予算を立てる",
     "1. 毎月の手取り収入を把握し、1か月ほど支出を記録してお金の使い道を確認する。2. 家賃などの固定費と生活に必要な支"
     "出を先に確保し、貯金は月の初めに先取りして、その他の項目ごとに上限を決める。3. 毎月見直して調整し、不定期な出費"
     "に備えて少し余裕を持たせる。"),
    ("helping a child get into the habit of reading",
     "1. Read aloud together regularly, for example at bedtime, and make it a relaxed, enjoyable time. 2. Let the "
     "child choose books about things they like, comics and non-fiction included, and keep books within easy reach "
     "at home. 3. Be a reading role model yourself, visit the library together, and talk about the stories rather "
     "than quizzing the child.",
     "子どもに読書の習慣をつける",
     "1. 寝る前など決まった時間に一緒に読み聞かせをし、楽しくくつろげる時間にする。2. 子どもが好きなテーマの本（図鑑"
     "やマンガも含む）を自分で選ばせ、家の手の届く場所に本を置く。3. 大人も本を読む姿を見せ、一緒に図書館へ行き、内容"
     "をテストするのではなく感想を話し合う。"),
]

EXPLAIN_EN = (
    "Explain {topic} in a short paragraph for someone with no background in the subject.",
    "In three or four sentences, explain {topic}.",
    "Briefly explain {topic} to a high-school student.",
)
EXPLAIN_JA = (
    "{topic}について、専門知識のない人にもわかるように短く説明してください。",
    "{topic}について、3〜4文で簡潔に説明してください。",
    "{topic}について、高校生にわかるように簡単に説明してください。",
)
SUMMARY_EN = (
    "Summarize the following text in one or two sentences.\n\n{passage}",
    "Summarize the main point of this passage in one sentence:\n\n{passage}",
)
SUMMARY_JA = (
    "次の文章を1〜2文で要約してください。\n\n{passage}",
    "次の文章の要点を1文でまとめてください。\n\n{passage}",
)
ADVICE_EN = (
    "Give three practical tips for {situation}.",
    "What are three practical tips for {situation}? Keep each tip to one or two sentences.",
)
ADVICE_JA = (
    "{situation}ための実用的なアドバイスを3つ挙げてください。",
    "{situation}には、どんな工夫をすればよいですか？具体的なアドバイスを3つ教えてください。",
)
# Validation takes whole topics (a topic's English and Japanese prompts stay on one side): this many
# topics of each kind.
VALIDATION_TOPICS = {"explanation": 3, "advice": 2, "summary": 2}


def _record(prompt: str, reference: str, kind: str, language: str) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": prompt}],
        "reference_answer": reference,
        "kind": kind,
        "language": language,
    }


def build() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(20261215)
    topics: list[tuple[str, list[dict[str, Any]]]] = []
    for index, (topic, reference, topic_ja, reference_ja) in enumerate(EXPLANATIONS):
        topics.append(("explanation", [
            _record(EXPLAIN_EN[index % 3].format(topic=topic), reference, "explanation", "en"),
            _record(EXPLAIN_JA[(index + 1) % 3].format(topic=topic_ja), reference_ja, "explanation", "ja"),
        ]))
    for index, (passage, reference) in enumerate(SUMMARIES_EN):
        topics.append(("summary", [_record(SUMMARY_EN[index % 2].format(passage=passage), reference, "summary", "en")]))
    for index, (passage, reference) in enumerate(SUMMARIES_JA):
        topics.append(("summary", [_record(SUMMARY_JA[index % 2].format(passage=passage), reference, "summary", "ja")]))
    for index, (situation, reference, situation_ja, reference_ja) in enumerate(ADVICE):
        topics.append(("advice", [
            _record(ADVICE_EN[index % 2].format(situation=situation), reference, "advice", "en"),
            _record(ADVICE_JA[(index + 1) % 2].format(situation=situation_ja), reference_ja, "advice", "ja"),
        ]))
    rng.shuffle(topics)
    wanted = dict(VALIDATION_TOPICS)
    training: list[dict[str, Any]] = []
    validation: list[dict[str, Any]] = []
    for kind, records in topics:
        if wanted[kind] > 0:
            wanted[kind] -= 1
            validation.extend(records)
        else:
            training.extend(records)
    rng.shuffle(training)
    rng.shuffle(validation)
    return training, validation
